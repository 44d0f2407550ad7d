import GatewayConfig
import NIOHTTP1
@testable import Gateway

/// Builders shared by the Gateway unit tests: configurations written in code (no YAML), request
/// heads, and request contexts as FrontHandler makes them after the accept phase.
enum Fixture {
    static let upstreamURL = "http://127.0.0.1:9101"

    static func route(_ id: String, _ paths: [Route.PathMatch], methods: [String] = [], host: String? = nil,
                      upstreams: [String] = [Fixture.upstreamURL], stripPrefix: String? = nil) -> Route {
        var route = Route(id: id, match: Route.Match(host: host, paths: paths, methods: methods),
                          upstream: Route.Upstream(urls: upstreams))
        route.stripPrefix = stripPrefix
        return route
    }

    static func runtime(_ routes: [Route], trustedProxies: [String] = []) throws -> RuntimeConfig {
        var configuration = GatewayConfiguration()
        configuration.routes = routes
        configuration.trustedProxies = trustedProxies
        return try RuntimeConfig(configuration, revision: 1)
    }

    /// A compiled route on its own (defaults from an empty configuration).
    static func runtimeRoute(_ route: Route) throws -> RuntimeRoute {
        try RuntimeRoute(route, defaults: GatewayConfiguration())
    }

    static func head(_ method: HTTPMethod = .GET, _ uri: String = "/", version: HTTPVersion = .http1_1,
                     _ headers: [(String, String)] = [("Host", "api.local")]) -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    /// The context FrontHandler builds for an accepted head: normalized target, Host, declared length.
    static func context(_ head: HTTPRequestHead, config: RuntimeConfig, sourceIP: String = "203.0.113.7",
                        requestID: String = "req-1") throws -> RequestContext {
        let length = head.headers["content-length"].first.flatMap { Int64($0) }
        return RequestContext(head: head, config: config, requestID: requestID,
                              target: try PathNormalizer.normalize(head.uri), sourceIP: sourceIP,
                              host: head.headers["host"].first, contentLength: length,
                              hasBody: head.headers.contains(name: "transfer-encoding") || (length ?? 0) > 0)
    }
}
