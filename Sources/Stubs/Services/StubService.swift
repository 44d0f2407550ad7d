import JOSE
import NIOHTTP1

/// One upstream service of the seed system, as the gateway's routes reach it (the gateway
/// strips only `/api`, so a stub sees `/devices/d-1`, `/commands`, ...).
protocol StubService: Sendable {
    /// `device`, `command`, ...: in logs and in every answer's `service` member.
    var name: String { get }
    /// First path segments the service answers under (`devices`; `notify` and `notifications`).
    var prefixes: [String] { get }
    /// The service's own endpoints; nil: 404.
    func respond(_ request: StubRequest) -> StubResponse?
}

/// What every stub answers the same way: health checks (`/healthz` and `/<prefix>/healthz`, as
/// the default policy's `health:read` rules expect) and the echo endpoint (`/echo` and
/// `/<prefix>/echo`, and anything below them).
enum StubRouting {
    static func respond(_ service: StubService, _ request: StubRequest) -> StubResponse {
        let segments = request.segments
        let underPrefix = segments.count >= 2 && service.prefixes.contains(segments[0])
        if segments == ["healthz"] || (underPrefix && segments.count == 2 && segments[1] == "healthz") {
            guard request.method == .GET || request.method == .HEAD else { return .methodNotAllowed(request, allowed: [.GET, .HEAD]) }
            return .json(.ok, ["status": "ok", "service": .string(service.name)])
        }
        if segments.first == "echo" || (underPrefix && segments[1] == "echo") {
            return Echo.response(service: service.name, request)
        }
        return service.respond(request) ?? .notFound(request)
    }

    /// The segments after the service's prefix, or nil when the path is not under it.
    static func rest(_ service: StubService, _ request: StubRequest) -> [String]? {
        let segments = request.segments
        guard let first = segments.first, service.prefixes.contains(first) else { return nil }
        return Array(segments.dropFirst())
    }
}

/// `/echo`: the request line and every header exactly as received, so tests can prove which
/// identity headers reached the upstream and that spoofed ones did not.
enum Echo {
    static func response(service: String, _ request: StubRequest) -> StubResponse {
        var merged = JSONObject()
        for (name, value) in request.headers {
            let key = name.lowercased()
            if case .string(let existing)? = merged[key] {
                merged[key] = .string(existing + ", " + value)
            } else {
                merged[key] = .string(value)
            }
        }
        var body = JSONObject()
        body["service"] = .string(service)
        body["method"] = .string(request.method.rawValue)
        body["target"] = .string(request.target)
        body["path"] = .string(request.path)
        body["query"] = request.query.map { .string($0) } ?? .null
        body["version"] = .string("HTTP/\(request.version.major).\(request.version.minor)")
        body["headers"] = .object(merged)
        body["header_list"] = .array(request.headers.map { .array([.string($0.name), .string($0.value)]) })
        body["body_bytes"] = .number(JSONNumber(request.body.count))
        if let text = String(validating: request.body, as: UTF8.self) {
            body["body"] = .string(text)
        } else {
            body["body_base64"] = .string(Base64URL.encode(request.body))
        }
        body["remote_address"] = request.remoteAddress.map { .string($0) } ?? .null
        body["request_id"] = .string(request.requestID)
        return .json(.ok, .object(body))
    }
}
