import GatewayConfig
import NIOHTTP1
import RegoLite
import Testing
@testable import Gateway

/// Policy/DecisionCache.swift: a connection reuses a decision only for the same prepared query
/// and equal values of every input member the query can read.
@Suite struct DecisionCacheTests {
    private func query(_ rego: String, _ text: String = "data.t.allow") throws -> PreparedQuery {
        let policy = try PolicyEngine.compile(modules: [("t.rego", "package t\nimport rego.v1\n" + rego)], data: .emptyObject)
        return try PreparedQuery(policy: policy, query: text)
    }

    private func request(_ method: HTTPMethod = .GET, _ uri: String) throws -> (RequestContext, RuntimeRoute) {
        let config = try Fixture.runtime([Fixture.route("devices", [.prefix("/api")])])
        let ctx = try Fixture.context(Fixture.head(method, uri), config: config)
        return (ctx, config.router.routes[0])
    }

    @Test func theMemberListIsWhatTheInputHas() throws {
        let (ctx, route) = try request(.GET, "/api/x?a=1")
        guard case .object(let input) = PolicyInput.build(context: ctx, route: route, identityHeaders: []) else {
            Issue.record("the input is not an object")
            return
        }
        let built = Set(input.keys.compactMap { if case .string(let k) = $0 { return k }; return nil })
        // `token` appears only with an identity.
        #expect(built.union(["token"]) == PolicyInput.memberNames)
    }

    @Test(arguments: [
        (["method", "route", "path_segments", "token", "authenticated"] as Set<String>?, true, true),
        (["method", "scheme", "source_ip", "not_an_input_member"], true, true),
        (["method", "headers"], true, false),
        (["request_id"], true, false),
        (["time_ns"], true, false),
        (nil, true, false),
        (["method"], false, false),
    ] as [(Set<String>?, Bool, Bool)])
    func whatCanBeCached(keys: Set<String>?, deterministic: Bool, cacheable: Bool) {
        #expect(DecisionCache.Plan(InputDependencies(keys: keys, deterministic: deterministic)).cacheable == cacheable)
    }

    @Test func aDecisionIsReusedOnlyForEqualReadMembers() throws {
        let q = try query(#"allow if { input.method == "GET"; startswith(input.path, "/api/a") }"#)
        var cache = DecisionCache()
        let plan = cache.plan(for: q)
        #expect(plan.cacheable && plan.method && plan.path && !plan.route)
        let (first, route) = try request(.GET, "/api/a?x=1")
        cache.store(PolicyDecision(allow: true), query: q, plan: plan, ctx: first, route: route)

        #expect(cache.lookup(q, plan: plan, ctx: try request(.GET, "/api/a?x=2").0, route: route)?.allow == true)  // query not read
        #expect(cache.lookup(q, plan: plan, ctx: try request(.GET, "/api/b").0, route: route) == nil)
        #expect(cache.lookup(q, plan: plan, ctx: try request(.POST, "/api/a").0, route: route) == nil)
        #expect(cache.lookup(q, plan: plan, ctx: try request(.GET, "/api/%61").0, route: route)?.allow == true)  // the normalized path

        // Another prepared query (a new policy revision) starts empty, even with the same text.
        let again = try query(#"allow if { input.method == "GET"; startswith(input.path, "/api/a") }"#)
        #expect(cache.lookup(again, plan: cache.plan(for: again), ctx: first, route: route) == nil)
    }

    @Test func queriesReadingHeadersOrTimeAreNeverKept() throws {
        for rego in [#"allow if input.headers["x-tenant"] == "a""#, "allow if time.now_ns() > 0", "allow if input.time_ns > 0"] {
            let q = try query(rego)
            var cache = DecisionCache()
            let plan = cache.plan(for: q)
            let (ctx, route) = try request(.GET, "/api/a")
            cache.store(PolicyDecision(allow: true), query: q, plan: plan, ctx: ctx, route: route)
            #expect(cache.lookup(q, plan: plan, ctx: ctx, route: route) == nil, "\(rego)")
            #expect(cache.count == 0)
        }
    }

    @Test func errorsAreNotKept() throws {
        let q = try query("allow if input.method")
        var cache = DecisionCache()
        let plan = cache.plan(for: q)
        let (ctx, route) = try request(.GET, "/api/a")
        cache.store(PolicyDecision(allow: false, error: "the policy decision is undefined"), query: q, plan: plan, ctx: ctx, route: route)
        #expect(cache.lookup(q, plan: plan, ctx: ctx, route: route) == nil)
    }

    @Test func theCacheIsBoundedAndKeepsTheNewest() throws {
        let q = try query("allow if input.path")
        var cache = DecisionCache()
        let plan = cache.plan(for: q)
        for i in 0...DecisionCache.capacity {
            let (ctx, route) = try request(.GET, "/api/\(i)")
            cache.store(PolicyDecision(allow: i % 2 == 0), query: q, plan: plan, ctx: ctx, route: route)
        }
        #expect(cache.count == DecisionCache.capacity)
        let (newest, route) = try request(.GET, "/api/\(DecisionCache.capacity)")
        #expect(cache.lookup(q, plan: plan, ctx: newest, route: route)?.allow == (DecisionCache.capacity % 2 == 0))
        #expect(cache.lookup(q, plan: plan, ctx: try request(.GET, "/api/0").0, route: route) == nil)  // replaced first
    }
}
