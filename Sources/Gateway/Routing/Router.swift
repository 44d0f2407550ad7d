import GatewayConfig

/// Chooses the route for a request: the first route in file order whose host and path match and
/// whose methods contain the method. When routes match host and path but none allows the method,
/// the answer is 405 with the methods that would have matched.
struct Router: Sendable {
    enum Outcome {
        case route(RuntimeRoute)
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    let routes: [RuntimeRoute]

    func match(host: String?, path: String, segments: [String], method: String) -> Outcome {
        var allowed: [String] = []
        var pathMatched = false
        for route in routes where route.matches(host: host) && route.matchesPath(path, segments: segments) {
            if route.methods.isEmpty || route.methods.contains(method) { return .route(route) }
            pathMatched = true
            for m in route.methods.sorted() where !allowed.contains(m) { allowed.append(m) }
        }
        return pathMatched ? .methodNotAllowed(allowed: allowed) : .notFound
    }
}

/// Path matchers compiled once per configuration.
enum CompiledPathMatch: Sendable {
    case exact(String)
    /// Stored without a trailing slash ("" for "/").
    case prefix(String)
    case glob([GlobSegment])

    enum GlobSegment: Sendable, Equatable {
        /// `**`: any number of segments, none included.
        case any
        /// Literal text with `*` wildcards inside one segment.
        case pattern([Substring], hasWildcard: Bool)
    }

    init(_ spec: Route.PathMatch) {
        switch spec {
        case .exact(let p): self = .exact(p)
        case .prefix(let p):
            var trimmed = Substring(p)
            while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
            self = .prefix(String(trimmed))
        case .glob(let p):
            self = .glob(p.split(separator: "/", omittingEmptySubsequences: true).map { seg in
                if seg == "**" { return .any }
                let parts = seg.split(separator: "*", omittingEmptySubsequences: false)
                return .pattern(parts, hasWildcard: parts.count > 1)
            })
        }
    }

    func matches(_ path: String, segments: [String]) -> Bool {
        switch self {
        case .exact(let p):
            return path == p
        case .prefix(let p):
            if p.isEmpty { return true }
            guard path.hasPrefix(p) else { return false }
            if path.utf8.count == p.utf8.count { return true }
            return path.utf8[path.utf8.index(path.utf8.startIndex, offsetBy: p.utf8.count)] == UInt8(ascii: "/")
        case .glob(let pattern):
            return Self.globMatch(pattern[...], segments[...])
        }
    }

    static func globMatch(_ pattern: ArraySlice<GlobSegment>, _ segments: ArraySlice<String>) -> Bool {
        guard let first = pattern.first else { return segments.isEmpty }
        switch first {
        case .any:
            let rest = pattern.dropFirst()
            if rest.isEmpty { return true }
            var s = segments
            while true {
                if globMatch(rest, s) { return true }
                if s.isEmpty { return false }
                s = s.dropFirst()
            }
        case .pattern(let parts, let hasWildcard):
            guard let segment = segments.first else { return false }
            let ok = hasWildcard ? wildcardMatch(parts, Substring(segment)) : segment == parts[0]
            return ok && globMatch(pattern.dropFirst(), segments.dropFirst())
        }
    }

    /// `parts` are the literal pieces between `*`s; a `*` never matches across a segment.
    static func wildcardMatch(_ parts: [Substring], _ text: Substring) -> Bool {
        guard text.hasPrefix(parts[0]) else { return false }
        var rest = text.dropFirst(parts[0].count)
        for (index, part) in parts.enumerated().dropFirst() {
            if index == parts.count - 1 { return rest.hasSuffix(part) && rest.count >= part.count }
            if part.isEmpty { continue }
            guard let range = rest.range(of: part) else { return false }
            rest = rest[range.upperBound...]
        }
        return true
    }
}
