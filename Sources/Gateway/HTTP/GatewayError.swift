import NIOCore
import NIOHTTP1
import RegoLite

/// An answer the gateway gives itself (DESIGN.md, "Errors"): a status, a stable code, a message
/// for people, optional details; always JSON with `X-Request-ID`.
struct GatewayError: Error, Sendable {
    struct Code: RawRepresentable, Hashable, Sendable {
        let rawValue: String
        static let badRequest = Code(rawValue: "bad_request")
        static let missingToken = Code(rawValue: "missing_token")
        static let invalidToken = Code(rawValue: "invalid_token")
        static let forbidden = Code(rawValue: "forbidden")
        static let notFound = Code(rawValue: "not_found")
        static let methodNotAllowed = Code(rawValue: "method_not_allowed")
        static let payloadTooLarge = Code(rawValue: "payload_too_large")
        static let upstreamUnavailable = Code(rawValue: "upstream_unavailable")
        static let keysUnavailable = Code(rawValue: "keys_unavailable")
        static let policyUnavailable = Code(rawValue: "policy_unavailable")
        static let upstreamTimeout = Code(rawValue: "upstream_timeout")
    }

    var status: HTTPResponseStatus
    var code: Code
    var message: String
    /// JSON object members for `details`.
    var details: [(String, Value)] = []
    /// Extra response headers (`WWW-Authenticate`, `Allow`).
    var headers: [(String, String)] = []

    static func badRequest(_ message: String) -> GatewayError {
        GatewayError(status: .badRequest, code: .badRequest, message: message)
    }

    /// 401 with RFC 6750's challenge; `description` is the verification code (or `missing_token`).
    static func unauthorized(_ code: Code, description: String, message: String) -> GatewayError {
        var challenge = "Bearer"
        if code == .invalidToken { challenge += " error=\"invalid_token\", error_description=\"\(description)\"" }
        else { challenge += " realm=\"portcullis\"" }
        return GatewayError(status: .unauthorized, code: code, message: message,
                            details: code == .invalidToken ? [("reason", .string(description))] : [],
                            headers: [("WWW-Authenticate", challenge)])
    }

    /// `{"error":{"code":...,"message":...,"details":{...}}}`
    func body(allocator: ByteBufferAllocator) -> ByteBuffer {
        var members: [(Value, Value)] = [(.string("code"), .string(code.rawValue)), (.string("message"), .string(message))]
        if !details.isEmpty { members.append((.string("details"), .object(RegoObject(pairs: details.map { (.string($0.0), $0.1) })))) }
        let json = JSONWriter.write(.object(RegoObject(pairs: [(.string("error"), .object(RegoObject(pairs: members)))])))
        var buffer = allocator.buffer(capacity: json.utf8.count)
        buffer.writeString(json)
        return buffer
    }
}
