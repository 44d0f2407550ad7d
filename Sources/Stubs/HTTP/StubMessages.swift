import Foundation
import JOSE
import NIOHTTP1

/// One request as a stub sees it, body collected (capped by the handler).
public struct StubRequest: Sendable {
    public var method: HTTPMethod
    /// The request target exactly as received (path and query).
    public var target: String
    public var path: String
    public var query: String?
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public var remoteAddress: String?
    /// The `X-Request-ID` of this exchange (the caller's, or minted).
    public var requestID: String

    /// Non-empty path segments: `/commands/c-1/ack` -> `["commands", "c-1", "ack"]`.
    public var segments: [String] { path.split(separator: "/").map(String.init) }

    /// The body as a JSON object (an empty body is an empty object), or the 400 to answer.
    func jsonObject() -> JSONBody {
        if body.isEmpty { return .object(JSONObject()) }
        guard case .object(let object)? = try? JSONParser.parse(bytes: body) else {
            return .invalid(.error(.badRequest, "bad_request", "the body must be a JSON object", requestID: requestID))
        }
        return .object(object)
    }
}

/// A request body read as a JSON object, or the answer to give when it is not one.
enum JSONBody {
    case object(JSONObject)
    case invalid(StubResponse)
}

/// One response; the handler adds `X-Request-ID`, `X-Process-Time` and `Content-Length`.
public struct StubResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: HTTPResponseStatus, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    static func json(_ status: HTTPResponseStatus, _ value: JSONValue, headers: [(String, String)] = []) -> StubResponse {
        StubResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array((value.serialized() + "\n").utf8))
    }

    /// The gateway's error shape (docs/ROUTES.md, "Errors"), plus the request id:
    /// `{"error": {"code": ..., "message": ..., "request_id": ...}}`.
    static func error(_ status: HTTPResponseStatus, _ code: String, _ message: String, requestID: String,
                      headers: [(String, String)] = []) -> StubResponse {
        json(status, ["error": ["code": .string(code), "message": .string(message), "request_id": .string(requestID)]], headers: headers)
    }

    static func notFound(_ request: StubRequest) -> StubResponse {
        error(.notFound, "not_found", "no resource at \(request.path)", requestID: request.requestID)
    }

    static func methodNotAllowed(_ request: StubRequest, allowed: [HTTPMethod]) -> StubResponse {
        error(.methodNotAllowed, "method_not_allowed", "\(request.method.rawValue) is not allowed on \(request.path)",
              requestID: request.requestID, headers: [("Allow", allowed.map(\.rawValue).joined(separator: ", "))])
    }
}

/// `X-Request-ID` as the gateway treats it: a well-formed incoming id is kept, else one is minted.
enum StubRequestID {
    /// 1 to 128 visible ASCII characters.
    static func accept(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.utf8.count <= 128, value.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else { return nil }
        return value
    }

    static func mint() -> String { UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "") }
}

/// Timestamps in responses (RFC 3339, UTC).
enum StubClock {
    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}
