import GatewayConfig
import NIOHTTP1
import Testing
@testable import Gateway

/// DESIGN.md phase 4: the bearer token comes from `Authorization`, or, for a WebSocket upgrade on a
/// route that names them, from a query parameter or a cookie (which are then not forwarded).
@Suite struct TokenExtractionTests {
    static func websocket(query: String? = nil, cookie: String? = nil) -> Route.WebSocket {
        var settings = Route.WebSocket()
        settings.tokenQuery = query
        settings.tokenCookie = cookie
        return settings
    }

    /// A context for `uri` and `headers` on a route with `websocket` settings, and those settings
    /// as the compiled route holds them.
    private func context(_ headers: [(String, String)], uri: String = "/ws",
                         websocket: Route.WebSocket? = nil) throws -> (RequestContext, Route.WebSocket?) {
        var route = Fixture.route("ws", [.prefix("/")])
        route.websocket = websocket
        let config = try Fixture.runtime([route])
        let ctx = try Fixture.context(Fixture.head(.GET, uri, [("Host", "api.local")] + headers), config: config)
        return (ctx, config.router.routes[0].websocket)
    }

    private func token(_ headers: [(String, String)], uri: String = "/ws",
                       websocket: Route.WebSocket? = nil) throws -> TokenExtraction.Outcome {
        let (ctx, settings) = try context(headers, uri: uri, websocket: websocket)
        return TokenExtraction.token(ctx, websocket: settings)
    }

    private func isMalformed(_ outcome: TokenExtraction.Outcome) -> Bool {
        if case .malformed = outcome { return true }
        return false
    }

    // MARK: Authorization

    @Test(arguments: [
        ("Bearer abc", "abc"), ("bearer abc", "abc"), ("BEARER abc", "abc"), ("  Bearer   abc  ", "abc"),
        ("Bearer eyJ.eyJ.sig", "eyJ.eyJ.sig"),
    ] as [(String, String)])
    func aBearerTokenIsReadCaseInsensitivelyAndTrimmed(header: String, expected: String) throws {
        #expect(try token([("Authorization", header)]) == .token(Substring(expected)))
    }

    @Test(arguments: ["Bearer", "bearer", "Bearer ", "Bearer     ", "  Bearer  "])
    func bearerWithoutCredentialsIsMalformed(header: String) throws {
        #expect(isMalformed(try token([("Authorization", header)])), "'\(header)'")
    }

    @Test func twoAuthorizationHeadersAreMalformed() throws {
        let outcome = try token([("Authorization", "Bearer a"), ("Authorization", "Bearer a")])
        #expect(isMalformed(outcome))
    }

    @Test(arguments: ["Basic dXNlcjpwdw==", "Token abc", "Bearerabc", "Digest username=\"u\"", ""])
    func anotherSchemeIsNoBearerToken(header: String) throws {
        #expect(try token([("Authorization", header)]) == TokenExtraction.Outcome.none)
    }

    @Test func noAuthorizationOnAPlainRouteIsNoToken() throws {
        #expect(try token([]) == TokenExtraction.Outcome.none)
    }

    // MARK: WebSocket query parameter

    @Test(arguments: [
        ("/ws?access_token=abc", "abc"), ("/ws?x=1&access_token=abc&y=2", "abc"), ("/ws?access_token=a%2Eb%7Ec", "a.b~c"),
        ("/ws?access%5Ftoken=abc", "abc"), ("/ws?access_token=first&access_token=second", "first"),
    ] as [(String, String)])
    func theRoutesQueryParameterCarriesTheToken(uri: String, expected: String) throws {
        let (ctx, settings) = try context([], uri: uri, websocket: Self.websocket(query: "access_token"))
        #expect(TokenExtraction.token(ctx, websocket: settings) == .token(Substring(expected)))
        #expect(ctx.tokenQueryParameter == "access_token")
        #expect(ctx.tokenCookie == nil)
    }

    @Test func anEmptyQueryParameterIsMalformedAndStillRemoved() throws {
        let (ctx, settings) = try context([], uri: "/ws?access_token=", websocket: Self.websocket(query: "access_token"))
        #expect(isMalformed(TokenExtraction.token(ctx, websocket: settings)))
        #expect(ctx.tokenQueryParameter == "access_token")
    }

    @Test(arguments: ["/ws?access_token", "/ws?token=abc", "/ws?my_access_token=abc", "/ws"])
    func aQueryWithoutTheParameterIsNoToken(uri: String) throws {
        let (ctx, settings) = try context([], uri: uri, websocket: Self.websocket(query: "access_token"))
        #expect(TokenExtraction.token(ctx, websocket: settings) == TokenExtraction.Outcome.none)
        #expect(ctx.tokenQueryParameter == nil)
    }

    @Test(arguments: [nil, TokenExtractionTests.websocket(), TokenExtractionTests.websocket(cookie: "session")] as [Route.WebSocket?])
    func theQueryIsIgnoredWhenTheRouteNamesNoParameter(websocket: Route.WebSocket?) throws {
        let (ctx, settings) = try context([], uri: "/ws?access_token=abc", websocket: websocket)
        #expect(TokenExtraction.token(ctx, websocket: settings) == TokenExtraction.Outcome.none)
        #expect(ctx.tokenQueryParameter == nil)
    }

    @Test func authorizationWinsOverTheQueryParameter() throws {
        let (ctx, settings) = try context([("Authorization", "Bearer header")], uri: "/ws?access_token=query",
                                          websocket: Self.websocket(query: "access_token"))
        #expect(TokenExtraction.token(ctx, websocket: settings) == .token("header"))
        #expect(ctx.tokenQueryParameter == nil)
    }

    // MARK: WebSocket cookie

    @Test(arguments: [
        ("session=xyz", "xyz"), ("a=1; session=xyz; b=2", "xyz"), ("a=1;session=xyz", "xyz"), ("session=x=y", "x=y"),
    ] as [(String, String)])
    func theRoutesCookieCarriesTheToken(cookie: String, expected: String) throws {
        let (ctx, settings) = try context([("Cookie", cookie)], websocket: Self.websocket(cookie: "session"))
        #expect(TokenExtraction.token(ctx, websocket: settings) == .token(Substring(expected)))
        #expect(ctx.tokenCookie == "session")
        #expect(ctx.tokenQueryParameter == nil)
    }

    @Test func theCookieIsFoundInASecondCookieHeader() throws {
        let (ctx, settings) = try context([("Cookie", "a=1"), ("Cookie", "session=xyz")],
                                          websocket: Self.websocket(cookie: "session"))
        #expect(TokenExtraction.token(ctx, websocket: settings) == .token("xyz"))
    }

    @Test func anEmptyTokenCookieIsMalformed() throws {
        let (ctx, settings) = try context([("Cookie", "session=")], websocket: Self.websocket(cookie: "session"))
        #expect(isMalformed(TokenExtraction.token(ctx, websocket: settings)))
        #expect(ctx.tokenCookie == "session")
    }

    @Test(arguments: ["Session=xyz", "sessionx=xyz", "xsession=xyz", "a=session=xyz", "session"])
    func anotherCookieIsNoToken(cookie: String) throws {
        let (ctx, settings) = try context([("Cookie", cookie)], websocket: Self.websocket(cookie: "session"))
        #expect(TokenExtraction.token(ctx, websocket: settings) == TokenExtraction.Outcome.none)
        #expect(ctx.tokenCookie == nil)
    }

    @Test(arguments: [nil, TokenExtractionTests.websocket(), TokenExtractionTests.websocket(query: "access_token")] as [Route.WebSocket?])
    func theCookieIsIgnoredWhenTheRouteNamesNoCookie(websocket: Route.WebSocket?) throws {
        let (ctx, settings) = try context([("Cookie", "session=xyz")], websocket: websocket)
        #expect(TokenExtraction.token(ctx, websocket: settings) == TokenExtraction.Outcome.none)
        #expect(ctx.tokenCookie == nil)
    }

    @Test func theQueryParameterIsTriedBeforeTheCookie() throws {
        let (ctx, settings) = try context([("Cookie", "session=from-cookie")], uri: "/ws?access_token=from-query",
                                          websocket: Self.websocket(query: "access_token", cookie: "session"))
        #expect(TokenExtraction.token(ctx, websocket: settings) == .token("from-query"))
        #expect(ctx.tokenQueryParameter == "access_token")
        #expect(ctx.tokenCookie == nil)
    }
}
