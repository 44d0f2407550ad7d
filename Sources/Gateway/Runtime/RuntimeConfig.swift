import Atomics
import Foundation
import GatewayConfig

/// One validated configuration prepared for the request path: compiled matchers, parsed upstream
/// addresses, merged limits. Immutable; a reload builds a new one and swaps it atomically, so a
/// request keeps the configuration it started with.
final class RuntimeConfig: AtomicReference, Sendable {
    let configuration: GatewayConfiguration
    let router: Router
    /// Lower-cased names of every identity header any route injects: removed from every request.
    let identityHeaderNames: Set<String>
    /// The same names as a list, for comparing request fields without lower-cased copies.
    let identityHeaderList: [String]
    let trustedProxies: Set<String>
    /// Increments with every successful load (1 = the first).
    let revision: Int
    let loadedAt: Date
    /// Every policy query a route evaluates (prepared with each policy revision).
    let policyQueries: [String]

    init(_ configuration: GatewayConfiguration, revision: Int, loadedAt: Date = Date()) throws {
        self.configuration = configuration
        self.revision = revision
        self.loadedAt = loadedAt
        let routes = try configuration.routes.map { try RuntimeRoute($0, defaults: configuration) }
        self.router = Router(routes: routes)
        var names = Set<String>()
        for route in routes { for header in route.identityHeaders { names.insert(header.name.lowercased()) } }
        for header in configuration.identityHeaders { names.insert(header.name.lowercased()) }
        self.identityHeaderNames = names
        self.identityHeaderList = names.sorted()
        self.trustedProxies = Set(configuration.trustedProxies)
        self.policyQueries = Array(Set(routes.filter { $0.policyMode != .off }.map(\.policyQuery))).sorted()
    }
}

/// An upstream address from `http://host:port/base`.
struct UpstreamTarget: Sendable, Hashable, CustomStringConvertible {
    let host: String
    let port: Int
    /// Prepended to the forwarded path ("" or "/base" without a trailing slash).
    let basePath: String

    init(url: String) throws {
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "http",
              let host = components.host, !host.isEmpty else {
            throw RuntimeConfigError(message: "upstream \(url): only http://host[:port][/path] is supported")
        }
        self.host = host
        self.port = components.port ?? 80
        var base = components.percentEncodedPath
        while base.hasSuffix("/") { base.removeLast() }
        self.basePath = base
    }

    var description: String { "\(host):\(port)" }

    /// The same host and port: connections to one serve the other (the base path is only the
    /// request's).
    @inline(__always) func sameAddress(as other: UpstreamTarget) -> Bool { port == other.port && host == other.host }
}

struct RuntimeConfigError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// A route with everything the request path needs precomputed.
final class RuntimeRoute: Sendable {
    let id: String
    let hostPattern: String?
    /// Alternatives: any one matching is enough.
    let pathMatches: [CompiledPathMatch]
    let methods: Set<String>
    let authMode: Route.AuthMode
    let allowedIssuers: Set<String>
    let policyQuery: String
    let policyMode: Route.PolicyMode
    let identityHeaders: [IdentityHeader]
    let upstreams: [UpstreamTarget]
    let connectTimeout: Double
    let readTimeout: Double
    let poolSize: Int
    let retries: Int
    /// Segment-wise prefix removed before forwarding ("" = none).
    let stripPrefix: String
    let websocket: Route.WebSocket?
    let maxBodyBytes: Int64
    let maxHeaderBytes: Int
    private let nextUpstream = ManagedAtomic<Int>(0)

    init(_ route: Route, defaults: GatewayConfiguration) throws {
        id = route.id
        hostPattern = route.match.host?.lowercased()
        pathMatches = route.match.paths.map(CompiledPathMatch.init)
        methods = Set(route.match.methods.map { $0.uppercased() })
        authMode = route.auth.mode
        allowedIssuers = Set(route.auth.issuers)
        policyQuery = route.policy.query ?? defaults.policy.defaultQuery
        policyMode = route.policy.mode
        identityHeaders = route.identityHeaders ?? defaults.identityHeaders
        upstreams = try route.upstream.urls.map { try UpstreamTarget(url: $0) }
        guard !upstreams.isEmpty else { throw RuntimeConfigError(message: "route \(route.id): no upstream") }
        connectTimeout = route.upstream.connectTimeout
        readTimeout = route.upstream.readTimeout
        poolSize = route.upstream.poolSize
        retries = route.upstream.retries
        var strip = route.stripPrefix ?? ""
        while strip.hasSuffix("/") { strip.removeLast() }
        stripPrefix = strip
        websocket = route.websocket
        maxBodyBytes = route.maxBodyBytes ?? defaults.limits.maxBodyBytes
        maxHeaderBytes = route.maxHeaderBytes ?? defaults.limits.maxHeaderBytes
    }

    func matches(host: String?) -> Bool {
        guard let pattern = hostPattern else { return true }
        guard var host = host?.lowercased() else { return false }
        if let colon = host.lastIndex(of: ":"), !host.hasSuffix("]") { host = String(host[..<colon]) }
        if pattern.hasPrefix("*.") { return host.hasSuffix(pattern.dropFirst()) && host.count > pattern.count - 1 }
        return host == pattern
    }

    @inline(__always) func matchesPath(_ path: String, segments: [String]) -> Bool {
        pathMatches.contains { $0.matches(path, segments: segments) }
    }

    /// The first upstream of a request, round-robin: an index for `upstream(start:attempt:)`.
    func firstUpstreamIndex() -> Int {
        upstreams.count == 1 ? 0 : nextUpstream.loadThenWrappingIncrement(ordering: .relaxed)
    }

    /// Attempt `attempt` of a request that started at `start`: each retry goes to the next
    /// upstream, so the retries of one request visit every upstream once before repeating.
    func upstream(start: Int, attempt: Int) -> UpstreamTarget {
        let count = upstreams.count
        return upstreams[((start % count) + count + attempt % count) % count]
    }

    /// The path sent upstream: `strip_prefix` removed (segment-wise), the upstream's base prepended.
    func upstreamPath(_ path: String, target: UpstreamTarget) -> String {
        var rest = Substring(path)
        if !stripPrefix.isEmpty, rest.hasPrefix(stripPrefix) {
            let after = rest.dropFirst(stripPrefix.count)
            if after.isEmpty { rest = "/" } else if after.first == "/" { rest = after }
        }
        return target.basePath.isEmpty ? String(rest) : target.basePath + rest
    }
}
