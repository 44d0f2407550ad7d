import GatewayConfig
import Testing
@testable import Gateway

extension Router.Outcome {
    var routeID: String? { if case .route(let route) = self { return route.id }; return nil }
    var allowedMethods: [String]? { if case .methodNotAllowed(let allowed) = self { return allowed }; return nil }
    var isNotFound: Bool { if case .notFound = self { return true }; return false }
}

/// DESIGN.md phase 3 and routes.yaml's `match`: host + path (prefix/exact/glob) + method, first
/// match in file order, on the normalized path; then `strip_prefix` and the upstream's base path.
@Suite struct RouterTests {
    private func outcome(_ config: RuntimeConfig, _ target: String, method: String = "GET",
                         host: String? = "api.local") throws -> Router.Outcome {
        let normalized = try PathNormalizer.normalize(target)
        return config.router.match(host: host, path: normalized.path, segments: normalized.segments, method: method)
    }

    private func matches(_ path: Route.PathMatch, _ target: String) throws -> Bool {
        let config = try Fixture.runtime([Fixture.route("r", [path])])
        return try outcome(config, target).routeID == "r"
    }

    // MARK: path matchers

    @Test(arguments: [
        ("/api", true), ("/api/", true), ("/api/x", true), ("/api/x/y/", true), ("/apix", false), ("/ap", false),
        ("/", false), ("/API", false), ("/x/api", false),
    ] as [(String, Bool)])
    func aPrefixMatchesWholeSegments(target: String, expected: Bool) throws {
        #expect(try matches(.prefix("/api"), target) == expected)
    }

    @Test(arguments: ["/", "/a", "/a/b/", "/%2A", "/api/devices"])
    func theRootPrefixMatchesEveryPath(target: String) throws {
        #expect(try matches(.prefix("/"), target))
    }

    @Test(arguments: [
        ("/health", true), ("/./health", true), ("//health", true), ("/x/../health", true), ("/health/", false),
        ("/health/x", false), ("/healthz", false), ("/", false),
    ] as [(String, Bool)])
    func anExactPathMatchesOnlyThatNormalizedPath(target: String, expected: Bool) throws {
        #expect(try matches(.exact("/health"), target) == expected)
    }

    @Test(arguments: [
        ("/api/*/status", "/api/d1/status", true), ("/api/*/status", "/api/d1/d2/status", false),
        ("/api/*/status", "/api/status", false), ("/api/*/status", "/api//status", false),
        ("/files/*.json", "/files/a.json", true), ("/files/*.json", "/files/a/b.json", false),
        ("/files/*.json", "/files/a.jsonx", false), ("/v*/x", "/v1/x", true), ("/v*/x", "/v/x", true),
        ("/v*/x", "/w1/x", false), ("/a*b*c", "/abc", true), ("/a*b*c", "/aXbYc", true), ("/a*b*c", "/ac", false),
        ("/ab*ba", "/aba", false),
    ] as [(String, String, Bool)])
    func aGlobStarMatchesWithinOneSegment(pattern: String, target: String, expected: Bool) throws {
        #expect(try matches(.glob(pattern), target) == expected)
    }

    @Test(arguments: [
        ("/api/**", "/api", true), ("/api/**", "/api/a", true), ("/api/**", "/api/a/b/c", true), ("/api/**", "/apix", false),
        ("/api/**", "/", false), ("/a/**/z", "/a/z", true), ("/a/**/z", "/a/b/z", true), ("/a/**/z", "/a/b/c/z", true),
        ("/a/**/z", "/a/b/c", false), ("/a/**/z", "/a/z/b", false), ("/**/*.png", "/x.png", true),
        ("/**/*.png", "/a/b/x.png", true), ("/**/*.png", "/a/b/x.gif", false), ("/**", "/", true),
    ] as [(String, String, Bool)])
    func aGlobDoubleStarMatchesAnyNumberOfSegmentsIncludingNone(pattern: String, target: String, expected: Bool) throws {
        #expect(try matches(.glob(pattern), target) == expected)
    }

    @Test func anyOfARoutesPathAlternativesIsEnough() throws {
        let config = try Fixture.runtime([Fixture.route("r", [.prefix("/devices"), .prefix("/api/devices")])])
        #expect(try outcome(config, "/devices/1").routeID == "r")
        #expect(try outcome(config, "/api/devices/1").routeID == "r")
        #expect(try outcome(config, "/api/other").isNotFound)
    }

    @Test func routingSeesTheNormalizedPath() throws {
        let config = try Fixture.runtime([
            Fixture.route("admin", [.prefix("/admin")]),
            Fixture.route("users", [.prefix("/~user")]),
            Fixture.route("api", [.prefix("/api")]),
        ])
        #expect(try outcome(config, "/api/%2e%2e/admin/keys").routeID == "admin")
        #expect(try outcome(config, "/%7Euser/x").routeID == "users")
        #expect(try outcome(config, "/api/..;/admin").routeID == "api")
    }

    // MARK: order and methods

    @Test func theFirstMatchingRouteInFileOrderWins() throws {
        let broadFirst = try Fixture.runtime([Fixture.route("api", [.prefix("/api")]),
                                              Fixture.route("devices", [.prefix("/api/devices")])])
        let narrowFirst = try Fixture.runtime([Fixture.route("devices", [.prefix("/api/devices")]),
                                               Fixture.route("api", [.prefix("/api")])])
        #expect(try outcome(broadFirst, "/api/devices/1").routeID == "api")
        #expect(try outcome(narrowFirst, "/api/devices/1").routeID == "devices")
        #expect(try outcome(narrowFirst, "/api/other").routeID == "api")
    }

    @Test func aMethodTheFirstRouteRefusesFallsThroughToTheNextRoute() throws {
        let config = try Fixture.runtime([
            Fixture.route("read", [.prefix("/d")], methods: ["GET"]),
            Fixture.route("write", [.prefix("/d")], methods: ["POST", "PUT"]),
            Fixture.route("any", [.prefix("/d")]),
        ])
        #expect(try outcome(config, "/d/1", method: "GET").routeID == "read")
        #expect(try outcome(config, "/d/1", method: "PUT").routeID == "write")
        #expect(try outcome(config, "/d/1", method: "DELETE").routeID == "any")
    }

    @Test func aMethodNoMatchingRouteAllowsIs405ListingTheirMethods() throws {
        let config = try Fixture.runtime([
            Fixture.route("read", [.prefix("/d")], methods: ["GET", "HEAD"]),
            Fixture.route("write", [.prefix("/d")], methods: ["PUT", "POST", "GET"]),
            Fixture.route("other", [.prefix("/x")], methods: ["PATCH"]),
        ])
        #expect(try outcome(config, "/d/1", method: "DELETE").allowedMethods == ["GET", "HEAD", "POST", "PUT"])
    }

    @Test func aPathNoRouteMatchesIs404() throws {
        let config = try Fixture.runtime([Fixture.route("read", [.prefix("/d")], methods: ["GET"])])
        #expect(try outcome(config, "/e", method: "DELETE").isNotFound)
    }

    @Test func aRouteWithoutMethodsAcceptsAnyMethod() throws {
        let config = try Fixture.runtime([Fixture.route("r", [.prefix("/")])])
        for method in ["GET", "POST", "DELETE", "PATCH", "OPTIONS", "PROPFIND"] {
            #expect(try outcome(config, "/a", method: method).routeID == "r")
        }
    }

    @Test func routeMethodsAreComparedUpperCase() throws {
        let config = try Fixture.runtime([Fixture.route("r", [.prefix("/")], methods: ["get"])])
        #expect(try outcome(config, "/a", method: "GET").routeID == "r")
        #expect(try outcome(config, "/a", method: "POST").allowedMethods == ["GET"])
    }

    // MARK: hosts

    @Test(arguments: [
        ("api.example.com", true), ("API.Example.COM", true), ("api.example.com:8443", true), (nil, false),
        ("other.example.com", false), ("api.example.com.evil.net", false), ("xapi.example.com", false),
        ("example.com", false),
    ] as [(String?, Bool)])
    func anExactHostIsComparedCaseInsensitivelyWithoutThePort(host: String?, expected: Bool) throws {
        let route = try Fixture.runtimeRoute(Fixture.route("r", [.prefix("/")], host: "api.example.com"))
        #expect(route.matches(host: host) == expected)
    }

    @Test(arguments: [
        ("a.example.com", true), ("a.b.example.com", true), ("A.EXAMPLE.COM:80", true), ("example.com", false),
        (".example.com", false), ("evilexample.com", false), ("example.com.evil.net", false), (nil, false),
    ] as [(String?, Bool)])
    func aWildcardHostMatchesSubdomainsOnly(host: String?, expected: Bool) throws {
        let route = try Fixture.runtimeRoute(Fixture.route("r", [.prefix("/")], host: "*.example.com"))
        #expect(route.matches(host: host) == expected)
    }

    @Test func aHostPatternWrittenInUpperCaseStillMatches() throws {
        let route = try Fixture.runtimeRoute(Fixture.route("r", [.prefix("/")], host: "API.Local"))
        #expect(route.matches(host: "api.local"))
    }

    @Test(arguments: [nil, "api.local", "anything.example:9"] as [String?])
    func aRouteWithoutHostMatchesAnyHost(host: String?) throws {
        let route = try Fixture.runtimeRoute(Fixture.route("r", [.prefix("/")]))
        #expect(route.matches(host: host))
    }

    @Test func aRouteForAnotherHostIsSkipped() throws {
        let config = try Fixture.runtime([
            Fixture.route("admin", [.prefix("/")], host: "admin.example.com"),
            Fixture.route("public", [.prefix("/")]),
        ])
        #expect(try outcome(config, "/keys", host: "admin.example.com").routeID == "admin")
        #expect(try outcome(config, "/keys", host: "www.example.com").routeID == "public")
    }

    // MARK: the path sent upstream

    @Test(arguments: [
        ("/api/devices", "/devices"), ("/api", "/"), ("/api/", "/"), ("/api/devices/", "/devices/"),
        ("/apix", "/apix"), ("/apix/y", "/apix/y"), ("/other/api", "/other/api"),
    ] as [(String, String)])
    func stripPrefixRemovesWholeSegments(path: String, expected: String) throws {
        let route = try Fixture.runtimeRoute(Fixture.route("r", [.prefix("/")], stripPrefix: "/api"))
        #expect(route.upstreamPath(path, target: route.upstreams[0]) == expected)
    }

    @Test func withoutStripPrefixThePathIsForwardedUnchanged() throws {
        let route = try Fixture.runtimeRoute(Fixture.route("r", [.prefix("/")]))
        #expect(route.upstreamPath("/api/devices", target: route.upstreams[0]) == "/api/devices")
    }

    @Test(arguments: [
        ("/api/devices", "/api", "/base/devices"), ("/api/devices", nil, "/base/api/devices"), ("/x", "/api", "/base/x"),
    ] as [(String, String?, String)])
    func theUpstreamBasePathIsPrepended(path: String, stripPrefix: String?, expected: String) throws {
        let route = try Fixture.runtimeRoute(Fixture.route("r", [.prefix("/")], upstreams: ["http://h:1/base"],
                                                           stripPrefix: stripPrefix))
        #expect(route.upstreamPath(path, target: route.upstreams[0]) == expected)
    }

    @Test(arguments: [
        ("http://h:1/base", "h", 1, "/base"), ("http://h:1/base/", "h", 1, "/base"), ("http://h", "h", 80, ""),
        ("http://127.0.0.1:9101", "127.0.0.1", 9101, ""),
    ] as [(String, String, Int, String)])
    func anUpstreamURLIsHostPortAndBasePath(url: String, host: String, port: Int, basePath: String) throws {
        let target = try UpstreamTarget(url: url)
        #expect(target.host == host)
        #expect(target.port == port)
        #expect(target.basePath == basePath)
    }

    @Test(arguments: ["https://h:443", "ftp://h", "h:80", "http://"])
    func anUpstreamOtherThanPlainHTTPIsRefused(url: String) {
        #expect(throws: RuntimeConfigError.self) { try UpstreamTarget(url: url) }
    }

    // MARK: choosing an upstream

    private static let three = ["http://10.0.0.1:80", "http://10.0.0.2:80", "http://10.0.0.3:80"]

    @Test func newRequestsGoRoundRobinOverTheUpstreams() throws {
        let route = try Fixture.runtimeRoute(Fixture.route("r", [.prefix("/")], upstreams: Self.three))
        let hosts = (0..<6).map { _ in route.upstream(start: route.firstUpstreamIndex(), attempt: 0).host }
        #expect(hosts == ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1", "10.0.0.2", "10.0.0.3"])
    }

    @Test func aSingleUpstreamIsAlwaysChosen() throws {
        let route = try Fixture.runtimeRoute(Fixture.route("r", [.prefix("/")], upstreams: ["http://10.0.0.9:80"]))
        let start = route.firstUpstreamIndex()
        #expect((0..<3).map { route.upstream(start: start, attempt: $0).host } == ["10.0.0.9", "10.0.0.9", "10.0.0.9"])
    }

    /// ProxyExchange retries a failed connect with the next attempt: it must be another upstream.
    @Test func aRetryGoesToAnotherUpstreamThanTheFirstAttempt() throws {
        let route = try Fixture.runtimeRoute(Fixture.route("r", [.prefix("/")],
                                                           upstreams: ["http://10.0.0.1:80", "http://10.0.0.2:80"]))
        for _ in 0..<3 {
            let start = route.firstUpstreamIndex()
            let first = route.upstream(start: start, attempt: 0)
            let retry = route.upstream(start: start, attempt: 1)
            #expect(retry != first, "first \(first), retry \(retry)")
        }
    }

    @Test func retriesOfOneRequestVisitEveryUpstreamOnce() throws {
        let route = try Fixture.runtimeRoute(Fixture.route("r", [.prefix("/")], upstreams: Self.three))
        let start = route.firstUpstreamIndex()
        let visited = (0..<3).map { route.upstream(start: start, attempt: $0) }
        #expect(Set(visited).count == 3, "\(visited)")
    }
}
