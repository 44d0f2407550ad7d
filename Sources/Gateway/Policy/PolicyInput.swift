import NIOHTTP1
import RegoLite

/// DESIGN.md's policy input, built once per request from what the earlier phases established.
enum PolicyInput {
    /// Request headers a policy never sees: credentials, and identity headers (the gateway's own).
    static func isHidden(_ lowercasedName: String, identityHeaders: Set<String>) -> Bool {
        lowercasedName == "authorization" || lowercasedName == "cookie" || lowercasedName == "proxy-authorization"
            || identityHeaders.contains(lowercasedName)
    }

    /// Every top-level member `build` can produce (DESIGN.md's input shape).
    static let memberNames: Set<String> = [
        "authenticated", "headers", "host", "method", "path", "path_segments", "query", "request_id", "route", "scheme",
        "source_ip", "time_ns", "token",
    ]

    static func build(context: RequestContext, route: RuntimeRoute, identityHeaders: Set<String>) -> Value {
        // Headers by lower-cased name, repeated ones joined with ", ", in key order.
        var headerNames: [String] = []
        var headerValues: [String] = []
        // Linear search for the usual handful of headers, a dictionary for many.
        var position: [String: Int]? = context.head.headers.count > 16 ? [:] : nil
        for (name, value) in context.head.headers {
            let lower = name.asciiLowercased
            if isHidden(lower, identityHeaders: identityHeaders) { continue }
            if let i = position?[lower] ?? (position == nil ? headerNames.firstIndex(of: lower) : nil) {
                headerValues[i] += ", " + value
                continue
            }
            position?[lower] = headerNames.count
            headerNames.append(lower)
            headerValues.append(value)
        }
        let order = headerNames.indices.sorted { headerNames[$0] < headerNames[$1] }
        let headers = RegoObject(pairs: order.map { (Value.string(headerNames[$0]), Value.string(headerValues[$0])) })
        // Members in key order: RegoObject keeps them as given (no sort on the request path).
        var members: [(Value, Value)] = [
            (.string("authenticated"), .bool(context.identity != nil)),
            (.string("headers"), .object(headers)),
            (.string("host"), .string(hostWithoutPort(context.host))),
            (.string("method"), .string(context.method)),
            (.string("path"), .string(context.target.path)),
            (.string("path_segments"), .array(context.target.segments.map(Value.string))),
            (.string("query"), queryValue(context.target.query)),
            (.string("request_id"), .string(context.requestID)),
            (.string("route"), .string(route.id)),
            (.string("scheme"), .string(context.scheme)),
            (.string("source_ip"), .string(context.sourceIP)),
            (.string("time_ns"), .number(.int(context.startWallNanos))),
        ]
        if let identity = context.identity {
            members.append((.string("token"), identity.token))
        }
        return .object(RegoObject(pairs: members))
    }

    /// `api.local:8080` → `api.local`; `[::1]:80` → `[::1]` (DESIGN.md's input shows the name only).
    static func hostWithoutPort(_ host: String?) -> String {
        guard let host else { return "" }
        if host.hasPrefix("[") { return host.firstIndex(of: "]").map { String(host[...$0]) } ?? host }
        if let colon = host.lastIndex(of: ":") { return String(host[..<colon]) }
        return host
    }

    /// `a=1&a=2&b` → {"a": ["1", "2"], "b": [""]}, decoded as HTML forms are (`+` is a space).
    static func queryValue(_ query: String?) -> Value {
        guard let query, !query.isEmpty else { return .emptyObject }
        var values: [String: [Value]] = [:]
        var order: [String] = []
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = formDecode(parts[0])
            let value = parts.count > 1 ? formDecode(parts[1]) : ""
            if values[key] == nil { order.append(key); values[key] = [] }
            values[key]!.append(.string(value))
        }
        return .object(RegoObject(pairs: order.map { (.string($0), .array(values[$0]!)) }))
    }

    /// Percent-decodes with `+` as a space; an invalid escape or invalid UTF-8 is kept as written.
    static func formDecode(_ text: Substring) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return String(text) }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "+") { out.append(0x20); i += 1; continue }
            if b == UInt8(ascii: "%"), i + 2 < bytes.count, let hi = PathNormalizer.hexValue(bytes[i + 1]),
               let lo = PathNormalizer.hexValue(bytes[i + 2]) {
                out.append(hi << 4 | lo); i += 3; continue
            }
            out.append(b); i += 1
        }
        return String(validating: out, as: UTF8.self) ?? String(text)
    }
}

/// What the route's query answered, read as DESIGN.md says: a boolean, or an object with
/// `allow` and optional `status`, `reasons`, `headers`. Anything else is a deny with an error.
struct PolicyDecision: Sendable {
    var allow: Bool
    var status: Int?
    var reasons: [String] = []
    var headers: [(String, String)] = []
    /// Why the answer could not be used (undefined, wrong shape, evaluation error).
    var error: String?
    var result: Value?

    static func interpret(_ value: Value?) -> PolicyDecision {
        guard let value else { return PolicyDecision(allow: false, error: "the policy decision is undefined") }
        switch value {
        case .bool(let allow):
            return PolicyDecision(allow: allow, result: value)
        case .object(let object):
            guard case .bool(let allow)? = object[.string("allow")] else {
                return PolicyDecision(allow: false, error: "the decision object has no boolean \"allow\"", result: value)
            }
            var decision = PolicyDecision(allow: allow, result: value)
            if case .number(let n)? = object[.string("status")], let status = n.intValue, (200...599).contains(status) {
                decision.status = status
            }
            switch object[.string("reasons")] {
            case .array(let items)?: decision.reasons = items.map { if case .string(let s) = $0 { return s }; return $0.description }
            case .set(let items)?: decision.reasons = items.elements.map { if case .string(let s) = $0 { return s }; return $0.description }
            case .string(let s)?: decision.reasons = [s]
            default: break
            }
            if case .object(let headers)? = object[.string("headers")] {
                for i in 0..<headers.count {
                    if case .string(let name) = headers.keys[i], case .string(let v) = headers.values[i] { decision.headers.append((name, v)) }
                }
            }
            return decision
        default:
            return PolicyDecision(allow: false, error: "the policy returned a \(value.typeName), not a boolean or a decision object", result: value)
        }
    }
}
