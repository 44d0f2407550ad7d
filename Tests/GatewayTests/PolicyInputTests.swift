import GatewayConfig
import NIOHTTP1
import RegoLite
import Testing
@testable import Gateway

/// DESIGN.md, "Policy input": the document policy authors write against, and how the answer of
/// the route's query is read (fail closed).
@Suite struct PolicyInputTests {
    private func json(_ text: String) throws -> Value { try JSONReader.parse(text) }

    // MARK: query

    @Test(arguments: [
        ("a=1&a=2&b", #"{"a": ["1", "2"], "b": [""]}"#),
        ("q=a+b", #"{"q": ["a b"]}"#),
        ("q=a%20b", #"{"q": ["a b"]}"#),
        ("q=a%2Bb", #"{"q": ["a+b"]}"#),
        ("x=%zz", #"{"x": ["%zz"]}"#),
        ("x=100%", #"{"x": ["100%"]}"#),
        ("x=%4", #"{"x": ["%4"]}"#),
        ("x=%FF", #"{"x": ["%FF"]}"#),
        ("x=%E2%9C%93", #"{"x": ["✓"]}"#),
        ("%61=1", #"{"a": ["1"]}"#),
        ("a=1&&b=2&", #"{"a": ["1"], "b": ["2"]}"#),
        ("a==b", #"{"a": ["=b"]}"#),
        ("=v", #"{"": ["v"]}"#),
        ("a=", #"{"a": [""]}"#),
    ] as [(String, String)])
    func theQueryIsAnObjectOfDecodedValueLists(query: String, expected: String) throws {
        let want = try json(expected)
        #expect(PolicyInput.queryValue(query) == want)
    }

    @Test(arguments: [nil, ""] as [String?])
    func noQueryIsAnEmptyObject(query: String?) {
        #expect(PolicyInput.queryValue(query) == .emptyObject)
    }

    // MARK: build

    private func policyInput(_ headers: [(String, String)] = [], uri: String = "/api/devices/d-42?k=v",
                             sourceIP: String = "127.0.0.1") throws -> (Value, RequestContext) {
        let config = try Fixture.runtime([Fixture.route("devices", [.prefix("/api/devices")])])
        let ctx = try Fixture.context(Fixture.head(.GET, uri, [("Host", "api.local")] + headers), config: config,
                                      sourceIP: sourceIP, requestID: "rid-7")
        let route = config.router.routes[0]
        return (PolicyInput.build(context: ctx, route: route, identityHeaders: config.identityHeaderNames), ctx)
    }

    @Test(arguments: [
        ("Authorization", "Bearer secret"), ("authorization", "Bearer secret"), ("Cookie", "session=secret"),
        ("Proxy-Authorization", "Basic c2VjcmV0"), ("X-Auth-Subject", "admin"), ("x-auth-roles", "admin"),
        ("X-AUTH-ISSUER", "https://evil"),
    ] as [(String, String)])
    func credentialsAndIdentityHeadersAreNeverInTheInput(name: String, value: String) throws {
        let (input, _) = try policyInput([(name, value), ("User-Agent", "t")])
        let headers = try #require(input["headers"]?.objectValue)
        #expect(headers[name.lowercased()] == nil)
        #expect(headers.keys.allSatisfy { $0.stringValue?.lowercased() != name.lowercased() })
        #expect(!JSONWriter.write(input).contains(value), "the value must not appear anywhere in the input")
        #expect(headers["user-agent"] == .string("t"))
    }

    @Test func headerNamesAreLowerCaseAndRepeatedHeadersJoined() throws {
        let (input, _) = try policyInput([("Accept", "a"), ("ACCEPT", "b"), ("X-Custom", "c")])
        #expect(input["headers"]?["accept"] == .string("a, b"))
        #expect(input["headers"]?["x-custom"] == .string("c"))
        #expect(input["headers"]?["host"] == .string("api.local"))
    }

    @Test(arguments: [
        ("/api/devices/d-42", "/api/devices/d-42", ["api", "devices", "d-42"]),
        ("/api/./devices//%7Ed-42/", "/api/devices/~d-42/", ["api", "devices", "~d-42"]),
        ("/api/devices/x/../%2a", "/api/devices/%2A", ["api", "devices", "%2A"]),
    ] as [(String, String, [String])])
    func pathAndSegmentsAreTheNormalizedOnes(uri: String, path: String, segments: [String]) throws {
        let (input, ctx) = try policyInput(uri: uri)
        #expect(input["path"] == .string(path))
        #expect(input["path_segments"] == .array(segments.map(Value.string)))
        #expect(ctx.target.segments == segments)
    }

    @Test func theQueryMemberIsTheDecodedQuery() throws {
        let (input, _) = try policyInput(uri: "/api/devices?k=v&k=w&flag")
        let expected = try json(#"{"k": ["v", "w"], "flag": [""]}"#)
        #expect(input["query"] == expected)
    }

    @Test func withoutIdentityTheRequestIsUnauthenticatedAndHasNoToken() throws {
        let (input, _) = try policyInput()
        #expect(input["authenticated"] == .bool(false))
        #expect(input["token"] == nil)
    }

    @Test func theRequestFactsAreTheContexts() throws {
        let (input, ctx) = try policyInput(sourceIP: "192.0.2.9")
        #expect(input["request_id"] == .string("rid-7"))
        #expect(input["route"] == .string("devices"))
        #expect(input["method"] == .string("GET"))
        #expect(input["scheme"] == .string("http"))
        #expect(input["host"] == .string("api.local"))
        #expect(input["source_ip"] == .string("192.0.2.9"))
        #expect(input["time_ns"] == .number(.int(ctx.startWallNanos)))
        #expect(ctx.startWallNanos > 1_600_000_000 * 1_000_000_000)
    }

    // MARK: reading the decision

    @Test func anUndefinedDecisionIsADenyWithAnError() {
        let decision = PolicyDecision.interpret(nil)
        #expect(!decision.allow)
        #expect(decision.error != nil)
    }

    @Test(arguments: [true, false])
    func aBooleanIsTheDecision(allow: Bool) {
        let decision = PolicyDecision.interpret(.bool(allow))
        #expect(decision.allow == allow)
        #expect(decision.error == nil)
        #expect(decision.result == .bool(allow))
    }

    @Test func aDecisionObjectCarriesStatusReasonsAndHeaders() throws {
        let value = try json(#"{"allow": false, "status": 404, "reasons": ["not yours", "try later"], "headers": {"x-deny": "1"}}"#)
        let decision = PolicyDecision.interpret(value)
        #expect(!decision.allow)
        #expect(decision.error == nil)
        #expect(decision.status == 404)
        #expect(decision.reasons == ["not yours", "try later"])
        #expect(decision.headers.map { "\($0.0): \($0.1)" } == ["x-deny: 1"])
        #expect(decision.result == value)
    }

    @Test func anAllowingDecisionObjectAllows() throws {
        let decision = PolicyDecision.interpret(try json(#"{"allow": true}"#))
        #expect(decision.allow)
        #expect(decision.error == nil)
        #expect(decision.status == nil)
        #expect(decision.reasons.isEmpty)
    }

    @Test func reasonsMayBeASet() {
        let value = Value.object(RegoObject(pairs: [
            (.string("allow"), .bool(false)),
            (.string("reasons"), .set(RegoSet([.string("b"), .string("a")]))),
        ]))
        #expect(PolicyDecision.interpret(value).reasons.sorted() == ["a", "b"])
    }

    @Test func reasonsMayBeOneString() throws {
        let decision = PolicyDecision.interpret(try json(#"{"allow": false, "reasons": "not yours"}"#))
        #expect(decision.reasons == ["not yours"])
    }

    @Test func aReasonThatIsNoStringIsWrittenAsATerm() throws {
        let decision = PolicyDecision.interpret(try json(#"{"allow": false, "reasons": ["x", 7]}"#))
        #expect(decision.reasons == ["x", "7"])
    }

    @Test func headerValuesThatAreNoStringsAreIgnored() throws {
        let decision = PolicyDecision.interpret(try json(#"{"allow": false, "headers": {"x-a": "1", "x-b": 2, "x-c": ["3"]}}"#))
        #expect(decision.headers.map { "\($0.0): \($0.1)" } == ["x-a: 1"])
    }

    @Test(arguments: [
        #"{"reasons": ["x"]}"#, #"{"allow": "true"}"#, #"{"allow": 1}"#, #"{"allow": null}"#, #"{}"#,
    ])
    func anObjectWithoutABooleanAllowIsADenyWithAnError(text: String) throws {
        let decision = PolicyDecision.interpret(try json(text))
        #expect(!decision.allow)
        #expect(decision.error != nil)
    }

    @Test(arguments: ["1", "0", #""allow""#, "null", "[true]", "[]"])
    func aValueThatIsNeitherBooleanNorObjectIsADenyWithAnError(text: String) throws {
        let decision = PolicyDecision.interpret(try json(text))
        #expect(!decision.allow)
        #expect(decision.error != nil)
    }

    @Test(arguments: [
        ("200", 200), ("403", 403), ("599", 599), ("403.0", 403), ("199", nil), ("600", nil), ("0", nil), ("-403", nil),
        ("403.5", nil), (#""403""#, nil), ("1e3", nil),
    ] as [(String, Int?)])
    func aStatusOutside200To599IsIgnored(status: String, expected: Int?) throws {
        let decision = PolicyDecision.interpret(try json(#"{"allow": false, "status": "# + status + "}"))
        #expect(decision.status == expected)
        #expect(decision.error == nil)
    }
}
