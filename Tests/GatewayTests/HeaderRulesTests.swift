import Foundation
import GatewayConfig
import NIOCore
import NIOHTTP1
import Testing
@testable import Gateway

/// DESIGN.md phases 6 and 7: what crosses the gateway. Hop-by-hop headers stay on their hop,
/// forwarding headers are the gateway's own unless a trusted proxy sent them, identity headers are
/// only ever the gateway's, and the client always sees the gateway's X-Request-ID.
@Suite struct HeaderRulesTests {
    static let trustedProxy = "10.1.1.1"
    static let untrustedPeer = "203.0.113.7"

    private func makeConfig(_ route: Route = Fixture.route("api", [.prefix("/")], upstreams: ["http://10.0.0.1:8080"])) throws
        -> RuntimeConfig {
        try Fixture.runtime([route], trustedProxies: [Self.trustedProxy])
    }

    /// The upstream request head for `headers` sent to `uri` by `sourceIP`.
    private func upstreamHead(_ headers: [(String, String)], method: HTTPMethod = .GET, uri: String = "/api/devices",
                              sourceIP: String = HeaderRulesTests.untrustedPeer, config: RuntimeConfig? = nil,
                              prepare: (RequestContext) -> Void = { _ in }) throws -> HTTPRequestHead {
        let config = try config ?? makeConfig()
        let ctx = try Fixture.context(Fixture.head(method, uri, [("Host", "api.local")] + headers), config: config,
                                      sourceIP: sourceIP)
        prepare(ctx)
        let route = config.router.routes[0]
        return Fixture.upstreamRequestHead(ctx, route: route, websocket: false)
    }

    // MARK: request: hop-by-hop

    @Test(arguments: ["Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade", "Proxy-Authorization",
                      "Proxy-Authenticate", "connection", "KEEP-ALIVE"])
    func aHopByHopRequestHeaderIsNotForwarded(name: String) throws {
        let head = try upstreamHead([(name, "v"), ("Accept", "*/*")])
        #expect(!head.headers.contains(name: name))
        #expect(head.headers["accept"] == ["*/*"])
    }

    @Test func headersNamedInConnectionAreNotForwarded() throws {
        let head = try upstreamHead([("Connection", "close, X-Internal-Secret"), ("Connection", "x-other"),
                                     ("X-Internal-Secret", "s"), ("X-Other", "o"), ("X-Kept", "k")])
        #expect(!head.headers.contains(name: "x-internal-secret"))
        #expect(!head.headers.contains(name: "x-other"))
        #expect(head.headers["x-kept"] == ["k"])
    }

    /// `Connection: content-length` must not strip the body's framing: the gateway still streams the
    /// body, and an upstream head without a length would read those bytes as the next request.
    @Test(arguments: [HTTPMethod.DELETE, .GET, .OPTIONS])
    func aConnectionTokenCannotRemoveTheBodysFraming(method: HTTPMethod) throws {
        let head = try upstreamHead([("Connection", "content-length"), ("Content-Length", "5")], method: method)
        let framed = head.headers["content-length"] == ["5"] || head.headers["transfer-encoding"] == ["chunked"]
        #expect(framed, "\(head.headers)")
    }

    @Test func aConnectionTokenCannotRemoveHost() throws {
        let head = try upstreamHead([("Connection", "host")])
        #expect(head.headers["host"] == ["api.local"])
    }

    // MARK: request: identity headers

    @Test(arguments: ["X-Auth-Subject", "x-auth-subject", "X-AUTH-ROLES", "x-Auth-Issuer"])
    func anIdentityHeaderSentByTheClientIsNeverForwarded(name: String) throws {
        let head = try upstreamHead([(name, "admin")])
        #expect(!head.headers.contains(name: name))
    }

    @Test func anIdentityHeaderOfAnyRouteIsRemovedOnEveryRoute() throws {
        var tenantRoute = Fixture.route("tenant", [.prefix("/tenant")])
        tenantRoute.identityHeaders = [IdentityHeader(name: "X-Tenant", claim: "tenant")]
        let config = try Fixture.runtime([Fixture.route("api", [.prefix("/api")]), tenantRoute])
        #expect(config.identityHeaderNames.contains("x-tenant"))
        let head = try upstreamHead([("x-tenant", "other-tenant")], config: config)
        #expect(!head.headers.contains(name: "x-tenant"))
    }

    /// CGI/WSGI upstreams (Django, Flask, Rack, PHP) read `X_Auth_Subject` and `X-Auth-Subject` as
    /// the same `HTTP_X_AUTH_SUBJECT`: the underscore spelling is the same identity header to them.
    @Test(arguments: ["X_Auth_Subject", "x_auth_roles", "X-Auth_Issuer"])
    func anIdentityHeaderSpelledWithUnderscoresIsNotForwarded(name: String) throws {
        let head = try upstreamHead([(name, "admin")])
        #expect(!head.headers.contains(name: name))
    }

    // MARK: request: forwarding headers

    @Test func anUntrustedPeersForwardingHeadersAreReplaced() throws {
        let head = try upstreamHead([("X-Forwarded-For", "1.2.3.4"), ("X-Forwarded-Proto", "https"),
                                     ("X-Forwarded-Host", "evil.example")])
        #expect(head.headers["x-forwarded-for"] == [Self.untrustedPeer])
        #expect(head.headers["x-forwarded-proto"] == ["http"])
        #expect(head.headers["x-forwarded-host"] == ["api.local"])
    }

    @Test func anUntrustedPeersForwardedHeaderIsDropped() throws {
        let head = try upstreamHead([("Forwarded", "for=1.2.3.4;proto=https")])
        #expect(!head.headers.contains(name: "forwarded"))
    }

    /// Other headers upstreams read as "the proxy told me": the client's IP, or the URL to serve
    /// (X-Original-URL/X-Rewrite-URL make Symfony/IIS route to another path than the policy saw).
    @Test(arguments: ["X-Real-IP", "X-Original-URL", "X-Rewrite-URL"])
    func anUntrustedPeersProxyOverrideHeaderIsNotForwarded(name: String) throws {
        let head = try upstreamHead([(name, "/admin")])
        #expect(!head.headers.contains(name: name))
    }

    @Test func aTrustedProxysForwardedForIsAppendedTo() throws {
        let head = try upstreamHead([("X-Forwarded-For", "1.2.3.4"), ("X-Forwarded-For", "5.6.7.8")],
                                    sourceIP: Self.trustedProxy)
        #expect(head.headers["x-forwarded-for"] == ["1.2.3.4, 5.6.7.8, \(Self.trustedProxy)"])
    }

    @Test func aTrustedProxysForwardedProtoAndHostAreKept() throws {
        let head = try upstreamHead([("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "public.example"),
                                     ("Forwarded", "for=1.2.3.4")], sourceIP: Self.trustedProxy)
        #expect(head.headers["x-forwarded-proto"] == ["https"])
        #expect(head.headers["x-forwarded-host"] == ["public.example"])
        #expect(head.headers["forwarded"] == ["for=1.2.3.4"])
    }

    @Test func forwardingHeadersAreSetWhenNoneWereSent() throws {
        let head = try upstreamHead([])
        #expect(head.headers["x-forwarded-for"] == [Self.untrustedPeer])
        #expect(head.headers["x-forwarded-proto"] == ["http"])
        #expect(head.headers["x-forwarded-host"] == ["api.local"])
    }

    // MARK: request: id, framing, target

    @Test func theRequestIDIsTheContexts() throws {
        let head = try upstreamHead([("X-Request-ID", "client-chosen"), ("x-request-id", "second")])
        #expect(head.headers["x-request-id"] == ["req-1"])
    }

    @Test func aChunkedRequestStaysChunked() throws {
        let head = try upstreamHead([("Transfer-Encoding", "chunked")], method: .POST)
        #expect(head.headers["transfer-encoding"] == ["chunked"])
        #expect(!head.headers.contains(name: "content-length"))
    }

    @Test func aDeclaredLengthIsForwarded() throws {
        let head = try upstreamHead([("Content-Length", "5")], method: .POST)
        #expect(head.headers["content-length"] == ["5"])
        #expect(!head.headers.contains(name: "transfer-encoding"))
    }

    @Test func theUpstreamReceivesTheNormalizedStrippedPathUnderItsBase() throws {
        let route = Fixture.route("api", [.prefix("/api")], upstreams: ["http://10.0.0.1:8080/base"], stripPrefix: "/api")
        let head = try upstreamHead([], uri: "/api/./devices//%7Ed-1?x=%2F&y=1", config: try makeConfig(route))
        #expect(head.uri == "/base/devices/~d-1?x=%2F&y=1")
        #expect(head.method == .GET)
        #expect(head.version == .http1_1)
    }

    @Test(arguments: [
        ("/api/ws?a=1&access_token=abc&b=2", "/api/ws?a=1&b=2"), ("/api/ws?access_token=abc", "/api/ws"),
        ("/api/ws?access%5Ftoken=abc&b=2", "/api/ws?b=2"), ("/api/ws?access_token=a&access_token=b", "/api/ws"),
        ("/api/ws?my_access_token=abc", "/api/ws?my_access_token=abc"),
    ] as [(String, String)])
    func theTokenQueryParameterIsNotForwarded(uri: String, expected: String) throws {
        let head = try upstreamHead([], uri: uri) { $0.tokenQueryParameter = "access_token" }
        #expect(head.uri == expected)
    }

    @Test func withoutATokenQueryParameterTheQueryIsForwardedAsSent() throws {
        let head = try upstreamHead([], uri: "/api/ws?a=1&access_token=abc")
        #expect(head.uri == "/api/ws?a=1&access_token=abc")
    }

    @Test(arguments: [
        ("a=1; session=tok; b=2", "a=1; b=2"), ("session=tok; b=2", "b=2"), ("a=1;session=tok", "a=1"),
        ("a=1; sessionx=2", "a=1; sessionx=2"),
    ] as [(String, String)])
    func theTokenCookieIsNotForwarded(cookie: String, expected: String) throws {
        let head = try upstreamHead([("Cookie", cookie)]) { $0.tokenCookie = "session" }
        #expect(head.headers["cookie"].map { $0.trimmingCharacters(in: .whitespaces) } == [expected])
    }

    @Test func aCookieHeaderWithOnlyTheTokenCookieIsNotForwarded() throws {
        let head = try upstreamHead([("Cookie", "session=tok")]) { $0.tokenCookie = "session" }
        #expect(!head.headers.contains(name: "cookie"))
    }

    @Test func withoutATokenCookieCookiesAreForwardedAsSent() throws {
        let head = try upstreamHead([("Cookie", "a=1; session=tok")])
        #expect(head.headers["cookie"] == ["a=1; session=tok"])
    }

    @Test func aWebSocketUpgradeForwardsUpgradeAndConnection() throws {
        let config = try makeConfig()
        let ctx = try Fixture.context(Fixture.head(.GET, "/ws", [("Host", "api.local"), ("Connection", "Upgrade"),
                                                                 ("Upgrade", "websocket")]), config: config)
        let route = config.router.routes[0]
        let head = Fixture.upstreamRequestHead(ctx, route: route, websocket: true)
        #expect(head.headers["connection"] == ["upgrade"])
        #expect(head.headers["upgrade"] == ["websocket"])
    }

    // MARK: identity header values

    /// Identity headers are made of token claims: a value that could end the header line is never
    /// injected. (Building a `VerifiedIdentity` needs a verified JWT from Identity, which this test
    /// target does not depend on, so `writeUpstreamRequestHead` with an identity is not covered here.)
    @Test(arguments: [
        ("admin", true), ("a, b", true), ("tab\there", true), ("caf\u{e9}", true), ("", true),
        ("a\r\nX-Injected: 1", false), ("a\nb", false), ("a\rb", false), ("nul\u{0}", false), ("del\u{7f}", false),
        ("bell\u{7}", false),
    ] as [(String, Bool)])
    func aHeaderValueIsSafeWithoutControlBytes(value: String, safe: Bool) {
        #expect(HeaderRules.isSafeValue(value) == safe)
    }

    // MARK: response

    private func clientHead(_ upstreamHeaders: [(String, String)], request: HTTPRequestHead = Fixture.head(.GET, "/a"),
                            websocket: Bool = false) throws -> HTTPResponseHead {
        let ctx = try Fixture.context(request, config: try makeConfig())
        // The upstream's head as bytes, read by the parser; the head made for the client read back the same way.
        let text = "HTTP/1.1 200 OK\r\n" + upstreamHeaders.map { "\($0.0): \($0.1)\r\n" }.joined() + (upstreamHeaders.contains { $0.0.lowercased() == "transfer-encoding" } ? "" : "Content-Length: 0\r\n") + "\r\n"
        let upstream = try ResponseParser.parseHead(ByteBuffer(string: text), requestIsHEAD: false)
        var out = ByteBuffer()
        var scratch = Array("HTTP/1.1 500 Stale\r\nX-Stale: 1\r\n\r\n".utf8)  // a connection's last head: none of it may remain
        HeaderRules.clientResponseHead(upstream, ctx: ctx, websocket: websocket,
                                       framing: HeaderRules.clientFraming(upstream, clientVersion: ctx.head.version),
                                       keepAlive: ctx.keepAlive, into: &out, scratch: &scratch)
        let sent = try ResponseParser.parseHead(out, requestIsHEAD: false)
        return HTTPResponseHead(version: HTTPVersion(major: 1, minor: sent.minorVersion), status: HTTPResponseStatus(statusCode: sent.status),
                                headers: HTTPHeaders(sent.fields.map { (sent.name($0), sent.value($0)) }))
    }

    @Test func hopByHopResponseHeadersAreNotForwarded() throws {
        let head = try clientHead([("Connection", "keep-alive, X-Private"), ("Keep-Alive", "timeout=5"),
                                   ("Transfer-Encoding", "chunked"), ("Upgrade", "h2c"), ("Proxy-Authenticate", "Basic"),
                                   ("Trailer", "x"), ("X-Private", "secret"), ("Content-Type", "text/plain")])
        for name in ["connection", "keep-alive", "upgrade", "proxy-authenticate", "trailer", "x-private"] {
            #expect(!head.headers.contains(name: name), "\(name)")
        }
        // The body is framed again by the gateway: its own chunked, never the upstream's field.
        #expect(head.headers["transfer-encoding"] == ["chunked"])
        #expect(head.headers["content-type"] == ["text/plain"])
        #expect(head.status == .ok)
    }

    @Test func theUpstreamsRequestIDAndProcessTimeAreReplaced() throws {
        let head = try clientHead([("X-Request-ID", "upstream-id"), ("x-process-time", "99")])
        #expect(head.headers["x-request-id"] == ["req-1"])
        let times = head.headers["x-process-time"]
        #expect(times.count == 1)
        let parts = times.first?.split(separator: ".") ?? []
        #expect(parts.count == 2 && parts[1].count == 6 && parts.allSatisfy { Int($0) != nil }, "\(times)")
        #expect(times.first != "99")
    }

    @Test(arguments: [
        (HTTPVersion.http1_1, [("Connection", "close")]), (.http1_0, []), (.http1_0, [("Connection", "close")]),
    ] as [(HTTPVersion, [(String, String)])])
    func aClientThatIsNotKeepAliveGetsConnectionClose(version: HTTPVersion, headers: [(String, String)]) throws {
        let request = Fixture.head(.GET, "/a", version: version, [("Host", "api.local")] + headers)
        let head = try clientHead([("Connection", "keep-alive")], request: request)
        #expect(head.headers["connection"] == ["close"])
        #expect(head.version == version)
    }

    @Test func aKeepAliveClientGetsNoConnectionHeader() throws {
        let head = try clientHead([("Connection", "close")])
        #expect(!head.headers.contains(name: "connection"))
    }

    @Test func aWebSocketResponseKeepsUpgradeAndConnection() throws {
        let head = try clientHead([("Connection", "Upgrade"), ("Upgrade", "websocket")], websocket: true)
        #expect(head.headers["connection"] == ["Upgrade"])
        #expect(head.headers["upgrade"] == ["websocket"])
    }
}
