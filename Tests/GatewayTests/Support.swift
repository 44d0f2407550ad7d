import Foundation
import GatewayConfig
import NIOCore
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

    /// The request head the gateway writes upstream, read back from its bytes (request line, then
    /// every field line as written; the head must end with an empty line).
    static func upstreamRequestHead(_ ctx: RequestContext, route: RuntimeRoute, websocket: Bool) -> HTTPRequestHead {
        var out = ByteBuffer()
        // A connection's scratch holds the last head it made: nothing of it may show in the next.
        var scratch = Array("GET /stale HTTP/1.1\r\nX-Stale: 1\r\n\r\n".utf8)
        HeaderRules.writeUpstreamRequestHead(ctx, route: route, target: route.upstreams[0], websocket: websocket, into: &out, scratch: &scratch)
        let text = String(buffer: out)
        precondition(text.hasSuffix("\r\n\r\n"), "the head does not end with an empty line: \(text)")
        // ("\r\n" is one Character: the empty line is dropped as bytes.)
        var lines = String(decoding: text.utf8.dropLast(4), as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        precondition(requestLine.count == 3 && requestLine[2] == "HTTP/1.1", "bad request line \(requestLine)")
        var headers = HTTPHeaders()
        for line in lines {
            let colon = line.firstIndex(of: ":")!
            headers.add(name: String(line[..<colon]), value: String(line[line.index(after: colon)...].dropFirst()))
        }
        return HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: String(requestLine[0])), uri: String(requestLine[1]),
                               headers: headers)
    }
}
