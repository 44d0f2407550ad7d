import JOSE
import NIOHTTP1

/// One complete request, body collected (the dev issuer's bodies are small forms and JSON).
struct IdPRequest {
    var method: HTTPMethod
    /// The path without the query.
    var path: String
    var query: [(String, String)]
    var headers: HTTPHeaders
    var body: [UInt8]
    var remoteAddress: String?

    func queryValue(_ name: String) -> String? { query.first { $0.0 == name }?.1 }
}

/// One response; `delay` holds it back (the test admin API's slow JWKS).
struct IdPReply {
    var status: HTTPResponseStatus
    var headers: [(String, String)] = []
    var body: [UInt8] = []
    var delayMilliseconds: Int = 0

    static func json(_ status: HTTPResponseStatus, _ value: JSONValue, headers: [(String, String)] = []) -> IdPReply {
        IdPReply(status: status, headers: [("Content-Type", "application/json")] + headers,
                 body: Array(value.serialized().utf8))
    }

    /// Keycloak's error shape: `{"error": ..., "error_description": ...}`.
    static func error(_ status: HTTPResponseStatus, _ error: String, _ description: String? = nil,
                      headers: [(String, String)] = []) -> IdPReply {
        var object = JSONObject()
        object["error"] = .string(error)
        if let description { object["error_description"] = .string(description) }
        return json(status, .object(object), headers: headers)
    }
}
