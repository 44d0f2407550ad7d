import Foundation
import Testing
@testable import GatewayConfig

@Suite struct ValidConfigTests {
    static let full = """
        listen: "[::1]:8443"
        admin: {listen: 127.0.0.1:9902}
        workers: 4
        shutdown_grace: 10s
        limits: {max_header_bytes: 32KiB, max_uri_bytes: 4096, max_body_bytes: 1GB, discard_body_bytes: 8KiB, discard_body_timeout: 250ms}
        trusted_proxies: [10.0.0.1, "::1"]
        identity_headers: {X-User: sub, X-Roles: realm_access.roles}
        issuers:
          - issuer: https://idp.example/realms/r
            jwks_uri: https://idp.example/realms/r/certs
            audiences: [portcullis, other]
            algorithms: [RS256, ES256, EdDSA]
            leeway: 30s
            require_exp: false
            max_lifetime: 24h
            typ: at+jwt
            allow_insecure_http: false
            required: false
            cache: {min_ttl: 1m, max_ttl: 1h, default_ttl: 10m, max_stale: 2h, unknown_kid_interval: 10s, fetch_timeout: 3s}
          - issuer: http://idp.internal/realms/x
            jwks_file: keys/x.json
            audiences: ["*"]
            allow_insecure_http: true
        policy:
          directory: ../policies
          query: data.gw.allow
          required: false
          max_steps: 5000
          decision_cache: false
        routes:
          - id: devices
            match:
              host: API.Example.com
              path_prefix: [/devices, /api/devices]
              methods: [GET, POST]
            upstream:
              urls: [http://127.0.0.1:9101, "HTTP://[::1]:9102/base/"]
              connect_timeout: 500ms
              read_timeout: 1m
              pool_size: 8
              retries: 0
            strip_prefix: /api
            auth: {mode: optional, issuers: [https://idp.example/realms/r]}
            policy: {query: data.gw.devices, mode: dry_run}
            identity_headers: {}
            limits: {max_body_bytes: 1GiB, max_header_bytes: 64KiB}
          - id: ws.hub-1
            match: {host: "*.example.com", path_glob: "/ws/*/**"}
            upstream: {urls: [http://ws.internal]}
            websocket: {token_query: access_token, token_cookie: pc_token, idle_timeout: 2m, close_on_token_expiry: true}
          - id: exact
            match: {path: /exact/}
            upstream: {urls: ["http://127.0.0.1:9000"]}
            auth: {mode: public}
            policy: {mode: off}
            websocket: true

        """

    @Test func everyKeyIsRead() throws {
        let config = try parse(Self.full, source: "/etc/portcullis/routes.yaml")
        #expect(config.source == "/etc/portcullis/routes.yaml")
        #expect(config.listen == SocketAddressSpec(host: "::1", port: 8443))
        #expect(config.listen.description == "[::1]:8443")
        #expect(config.admin == SocketAddressSpec(host: "127.0.0.1", port: 9902))
        #expect(config.workers == 4)
        #expect(config.shutdownGrace == 10)
        #expect(config.limits.maxHeaderBytes == 32 * 1024)
        #expect(config.limits.maxURIBytes == 4096)
        #expect(config.limits.maxBodyBytes == 1_000_000_000)
        #expect(config.limits.discardBodyBytes == 8 * 1024)
        #expect(config.limits.discardBodyTimeout == 0.25)
        #expect(config.trustedProxies == ["10.0.0.1", "::1"])
        #expect(config.identityHeaders == [IdentityHeader(name: "X-User", claim: "sub"),
                                           IdentityHeader(name: "X-Roles", claim: "realm_access.roles")])
        #expect(config.switches == SwitchState())

        #expect(config.issuers.count == 2)
        let a = config.issuers[0]
        #expect(a.issuer == "https://idp.example/realms/r")
        #expect(a.jwksURI == "https://idp.example/realms/r/certs")
        #expect(a.jwksFile == nil)
        #expect(a.audiences == ["portcullis", "other"])
        #expect(a.algorithms == ["RS256", "ES256", "EdDSA"])
        #expect(a.leeway == 30)
        #expect(a.requireExpiration == false)
        #expect(a.maxLifetime == 86_400)
        #expect(a.requiredType == "at+jwt")
        #expect(a.allowInsecureHTTP == false)
        #expect(a.required == false)
        #expect(a.cache.minTTL == 60)
        #expect(a.cache.maxTTL == 3600)
        #expect(a.cache.defaultTTL == 600)
        #expect(a.cache.maxStale == 7200)
        #expect(a.cache.unknownKidInterval == 10)
        #expect(a.cache.fetchTimeout == 3)
        let b = config.issuers[1]
        #expect(b.jwksFile == "/etc/portcullis/keys/x.json")
        #expect(b.audiences == ["*"])
        #expect(b.algorithms == nil)
        #expect(b.allowInsecureHTTP)
        #expect(b.required)

        #expect(config.policy.directory == "/etc/policies")
        #expect(config.policy.defaultQuery == "data.gw.allow")
        #expect(config.policy.required == false)
        #expect(config.policy.maxSteps == 5000)
        #expect(config.policy.decisionCache == false)

        #expect(config.routes.map(\.id) == ["devices", "ws.hub-1", "exact"])
        let devices = config.routes[0]
        #expect(devices.line == 31)
        #expect(devices.match == Route.Match(host: "api.example.com", paths: [.prefix("/devices"), .prefix("/api/devices")],
                                             methods: ["GET", "POST"]))
        #expect(devices.upstream.urls == ["http://127.0.0.1:9101", "http://[::1]:9102/base"])
        #expect(devices.upstream.connectTimeout == 0.5)
        #expect(devices.upstream.readTimeout == 60)
        #expect(devices.upstream.poolSize == 8)
        #expect(devices.upstream.retries == 0)
        #expect(devices.stripPrefix == "/api")
        #expect(devices.auth.mode == .optional)
        #expect(devices.auth.issuers == ["https://idp.example/realms/r"])
        #expect(devices.policy.query == "data.gw.devices")
        #expect(devices.policy.mode == .dryRun)
        #expect(devices.identityHeaders == [])
        #expect(devices.websocket == nil)
        #expect(devices.maxBodyBytes == 1 << 30)
        #expect(devices.maxHeaderBytes == 64 * 1024)

        let ws = config.routes[1]
        #expect(ws.line == 47)
        #expect(ws.match.host == "*.example.com")
        #expect(ws.match.paths == [.glob("/ws/*/**")])
        #expect(ws.upstream.urls == ["http://ws.internal:80"])
        #expect(ws.auth == Route.Auth())
        #expect(ws.identityHeaders == nil)
        #expect(ws.websocket?.tokenQuery == "access_token")
        #expect(ws.websocket?.tokenCookie == "pc_token")
        #expect(ws.websocket?.idleTimeout == 120)
        #expect(ws.websocket?.closeOnTokenExpiry == true)
        #expect(ws.maxBodyBytes == nil && ws.maxHeaderBytes == nil)

        let exact = config.routes[2]
        #expect(exact.match.paths == [.exact("/exact/")])
        #expect(exact.auth.mode == .public)
        #expect(exact.policy.mode == .off)
        #expect(exact.websocket == Route.WebSocket())
    }

    @Test func defaultsOfAMinimalFile() throws {
        let config = try parse(header + minimalRoute)
        var expected = GatewayConfiguration()
        expected.source = "/etc/portcullis/routes.yaml"
        expected.issuers = [IssuerSpec(issuer: "http://127.0.0.1:8180/realms/r", audiences: ["portcullis"])]
        expected.policy.directory = "/etc/portcullis/policies"
        var route = Route(id: "r", match: Route.Match(path: .prefix("/r")), upstream: Route.Upstream(urls: ["http://127.0.0.1:9101"]))
        route.line = 7
        expected.routes = [route]
        #expect(config == expected)
        #expect(config.listen.description == "127.0.0.1:8080")
        #expect(config.admin.description == "127.0.0.1:9901")
    }

    @Test func policyOffRoutesNeedNoPolicyAndPublicRoutesNoIssuer() throws {
        let config = try parse("""
            routes:
              - id: open
                match: {path: /}
                upstream: {urls: [http://127.0.0.1:1]}
                auth: {mode: public}
                policy: {mode: off}
            """)
        #expect(config.policy.directory == nil)
        #expect(config.issuers.isEmpty)
    }

    @Test(arguments: [
        // (source, directory, resolved)
        ("/srv/gw/routes.yaml", "policies", "/srv/gw/policies"),
        ("/srv/gw/routes.yaml", "./a/../b/./c", "/srv/gw/b/c"),
        ("/srv/gw/routes.yaml", "../shared/p", "/srv/shared/p"),
        ("/srv/gw/routes.yaml", "/abs/p", "/abs/p"),
        ("/routes.yaml", "p", "/p"),
    ])
    func relativePathsResolveAgainstTheFile(source: String, directory: String, resolved: String) throws {
        let yaml = header.replacingOccurrences(of: "directory: policies", with: "directory: \(directory)") + minimalRoute
        #expect(try parse(yaml, source: source).policy.directory == resolved)
    }

    @Test func relativeSourceResolvesAgainstTheCurrentDirectory() throws {
        let cwd = FileManager.default.currentDirectoryPath
        let config = try parse(header + minimalRoute, source: "conf/routes.yaml")
        #expect(config.policy.directory == URL(fileURLWithPath: cwd).appendingPathComponent("conf/policies").path)
        #expect(config.source == "conf/routes.yaml")
    }

    @Test func loadReadsAFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gwconfig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("routes.yaml")
        try (header + minimalRoute).write(to: file, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: file.path, environment: [:])
        #expect(config.source == file.path)
        #expect(config.policy.directory == dir.appendingPathComponent("policies").path)
    }

    @Test func anchorsAliasesAndMergeKeys() throws {
        let config = try parse(header + """
              - id: a
                match: {path_prefix: /a}
                upstream: &up
                  urls: [http://127.0.0.1:9101]
                  connect_timeout: 1s
                  read_timeout: 7s
              - id: b
                match: {path_prefix: /b}
                upstream:
                  <<: *up
                  read_timeout: 9s
              - id: c
                match: {path_prefix: /c}
                upstream: *up
            """)
        #expect(config.routes.map(\.upstream.readTimeout) == [7, 9, 7])
        #expect(config.routes.map(\.upstream.connectTimeout) == [1, 1, 1])
    }
}
