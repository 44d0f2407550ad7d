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

    /// The whole answer to `ctx` as bytes: head (the request id, the process time, `no-store`,
    /// the error's own headers, headers a denying policy set, `Connection: close` when `close`)
    /// and the JSON body (none for HEAD). A denial's body names its decision record
    /// (`decision_id`, for `GET /v1/decisions/{id}`).
    func response(_ ctx: RequestContext, close: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        var error = self
        if let record = ctx.decisionRecord, !record.allowed {
            error.details.append(("decision_id", .string(record.decisionID.description)))
        }
        let body = error.body(allocator: allocator)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        headers.add(name: "X-Request-ID", value: ctx.requestID)
        headers.add(name: "X-Process-Time", value: ctx.processTime)
        headers.add(name: "Cache-Control", value: "no-store")
        for (name, value) in error.headers { headers.add(name: name, value: value) }
        if let decision = ctx.decision, !decision.allow {
            for (name, value) in decision.headers where HeaderRules.isPolicySettable(name) && HeaderRules.isSafeValue(value) {
                headers.add(name: name, value: value)
            }
        }
        if close { headers.add(name: "Connection", value: "close") }
        var out = allocator.buffer(capacity: 256 + body.readableBytes)
        out.writeStaticString(ctx.head.version.minor == 0 && ctx.head.version.major == 1 ? "HTTP/1.0 " : "HTTP/1.1 ")
        out.writeString(String(status.code))
        out.writeStaticString(" ")
        out.writeString(status.reasonPhrase)
        out.writeStaticString("\r\n")
        WireFormat.writeFields(headers, into: &out)
        if ctx.head.method != .HEAD { out.writeImmutableBuffer(body) }
        return out
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
