import RegoLite

/// The fields a decision is searched and listed by, read from a written record (a JSON line) or
/// taken from a record as it is written (the ring).
public struct DecisionSummary: Sendable, Equatable {
    public var decisionID: String
    public var requestID: String
    public var timestampNs: Int64
    public var route: String
    public var method: String
    public var path: String
    /// `input.token.payload.sub`, "" when unauthenticated.
    public var subject: String
    public var status: Int
    public var allowed: Bool
    public var reasons: [String]

    public init(decisionID: String, requestID: String, timestampNs: Int64, route: String, method: String, path: String,
                subject: String, status: Int, allowed: Bool, reasons: [String]) {
        self.decisionID = decisionID; self.requestID = requestID; self.timestampNs = timestampNs; self.route = route
        self.method = method; self.path = path; self.subject = subject; self.status = status; self.allowed = allowed
        self.reasons = reasons
    }

    /// From one decoded record (as written by `DecisionLogger`); nil when it is not one.
    public init?(record: Value) {
        guard case .object(let o) = record, case .string(let id)? = o["decision_id"],
              case .string(let stamp)? = o["timestamp"], let ns = RFC3339.parse(stamp) else { return nil }
        func string(_ v: Value?) -> String { if case .string(let s)? = v { return s }; return "" }
        let input = o["input"]
        var reasons: [String] = []
        if case .array(let items)? = o["reasons"] { reasons = items.compactMap(\.stringValue) }
        self.init(decisionID: id, requestID: string(o["request_id"]), timestampNs: ns, route: string(o["route"]),
                  method: string(input?["method"]), path: string(input?["path"]),
                  subject: string(input?["token"]?["payload"]?["sub"]),
                  status: o["status"]?.numberValue?.intValue ?? 0, allowed: o["allowed"]?.boolValue ?? false, reasons: reasons)
    }
}

/// A search over decisions: every given condition must hold (the admin API's
/// `?allowed=&route=&sub=&since=&limit=`, the CLI's `decisions query` options).
public struct DecisionFilter: Sendable, Equatable {
    public var allowed: Bool?
    public var route: String?
    public var subject: String?
    /// Only decisions at or after this time (ns since 1970).
    public var sinceNs: Int64?
    public var requestID: String?
    public var decisionID: String?
    /// At most this many results (the newest, for the ring); nil = no limit.
    public var limit: Int?

    public init(allowed: Bool? = nil, route: String? = nil, subject: String? = nil, sinceNs: Int64? = nil,
                requestID: String? = nil, decisionID: String? = nil, limit: Int? = nil) {
        self.allowed = allowed; self.route = route; self.subject = subject; self.sinceNs = sinceNs
        self.requestID = requestID; self.decisionID = decisionID; self.limit = limit
    }

    public func matches(_ s: DecisionSummary) -> Bool {
        if let allowed, s.allowed != allowed { return false }
        if let route, s.route != route { return false }
        if let subject, s.subject != subject { return false }
        if let sinceNs, s.timestampNs < sinceNs { return false }
        if let requestID, s.requestID != requestID { return false }
        if let decisionID, s.decisionID.lowercased() != decisionID.lowercased() { return false }
        return true
    }

    /// `10m`, `2h`, `30s`, `1d`, `500ms` back from `nowNs`, or an RFC 3339 time.
    public static func parseSince(_ text: String, nowNs: Int64) -> Int64? {
        if let absolute = RFC3339.parse(text) { return absolute }
        let units: [(String, Double)] = [("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        for (unit, scale) in units where text.hasSuffix(unit) {
            guard let amount = Double(text.dropLast(unit.count)), amount >= 0, amount.isFinite else { return nil }
            return nowNs - Int64(amount * scale * 1e9)
        }
        return nil
    }

    /// Parses admin-API query parameters (`allowed`, `route`, `sub`, `since`, `limit`); nil and a
    /// message for a bad value.
    public static func parse(query: [(String, String)], nowNs: Int64, maxLimit: Int = 1000) -> Result<DecisionFilter, DecisionFilterError> {
        var filter = DecisionFilter(limit: 100)
        for (name, value) in query {
            switch name {
            case "allowed":
                guard value == "true" || value == "false" else { return .failure(.init("allowed must be true or false")) }
                filter.allowed = value == "true"
            case "route": filter.route = value
            case "sub": filter.subject = value
            case "request_id": filter.requestID = value
            case "since":
                guard let ns = parseSince(value, nowNs: nowNs) else {
                    return .failure(.init("since must be a duration (10m, 2h) or an RFC 3339 time"))
                }
                filter.sinceNs = ns
            case "limit":
                guard let n = Int(value), n >= 1 else { return .failure(.init("limit must be a whole number of at least 1")) }
                filter.limit = min(n, maxLimit)
            default:
                return .failure(.init("unknown parameter \(name) (allowed, route, sub, request_id, since, limit)"))
            }
        }
        return .success(filter)
    }
}

public struct DecisionFilterError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
