import RegoLite

/// The decisions of one connection, reused while nothing the route's query can read has
/// changed. A client sends the same token to the same few endpoints over and over; when the
/// compiled query reads only members of `input` that the gateway can compare cheaply (the
/// method, the path, the route, the verified identity, ...) and calls no builtin whose answer
/// varies (`time.now_ns`), the decision for equal members is the decision already made.
///
/// Sound by construction, not by expiry: the members compared are those RegoLite's
/// `InputDependencies` found the query able to reach, an entry belongs to one prepared query
/// (a new policy revision prepares new ones, so nothing survives a policy change), and a query
/// that reads `input.headers`, `input.request_id`, `input.time_ns` or `input` as a whole is never
/// cached. Authentication still runs on every request; only its result is compared (the same
/// verified identity object). Lives in the connection's handler: one event loop, no lock.
struct DecisionCache {
    /// Which request members a query's decision depends on, worked out once per prepared query.
    struct Plan {
        var cacheable = true
        var method = false, path = false, query = false, host = false, route = false
        var identity = false, authenticated = false

        init(_ dependencies: InputDependencies) {
            guard dependencies.deterministic, let keys = dependencies.keys else {
                cacheable = false
                return
            }
            for key in keys {
                switch key {
                case "method": method = true
                case "path", "path_segments": path = true
                case "query": query = true
                case "host": host = true
                case "route": route = true
                case "token": identity = true
                case "authenticated": authenticated = true
                case "scheme", "source_ip": break  // the same on every request of a connection
                case _ where !PolicyInput.memberNames.contains(key): break  // never in the input: always undefined
                default: cacheable = false  // headers, request_id, time_ns: differ on every request
                }
            }
        }
    }

    private struct Entry {
        let query: PreparedQuery
        let method: String?
        let path: String?
        let queryString: String??
        let host: String??
        let route: String?
        /// Held, so the object compared cannot be freed and its address reused by another identity.
        let identity: VerifiedIdentity?
        let authenticated: Bool?
        let decision: PolicyDecision
    }

    static let capacity = 16
    private var entries: [Entry] = []
    private var nextSlot = 0
    private var lastPlan: (query: PreparedQuery, plan: Plan)?

    /// The plan for `query` (the last one is remembered: a connection mostly uses one query).
    mutating func plan(for query: PreparedQuery) -> Plan {
        if let last = lastPlan, last.query === query { return last.plan }
        let plan = Plan(query.inputDependencies)
        lastPlan = (query, plan)
        return plan
    }

    func lookup(_ query: PreparedQuery, plan: Plan, ctx: RequestContext, route: RuntimeRoute) -> PolicyDecision? {
        guard plan.cacheable else { return nil }
        for entry in entries where entry.query === query && matches(entry, plan: plan, ctx: ctx, route: route) {
            return entry.decision
        }
        return nil
    }

    /// Keeps a decision made by evaluation; errors are not kept (each is logged as it happens).
    mutating func store(_ decision: PolicyDecision, query: PreparedQuery, plan: Plan, ctx: RequestContext, route: RuntimeRoute) {
        guard plan.cacheable, decision.error == nil else { return }
        let entry = Entry(
            query: query, method: plan.method ? ctx.method : nil, path: plan.path ? ctx.target.path : nil,
            queryString: plan.query ? .some(ctx.target.query) : nil, host: plan.host ? .some(ctx.host) : nil,
            route: plan.route ? route.id : nil, identity: plan.identity ? ctx.identity : nil,
            authenticated: plan.authenticated ? ctx.identity != nil : nil, decision: decision)
        if entries.count < Self.capacity {
            entries.append(entry)
        } else {
            entries[nextSlot] = entry
            nextSlot = (nextSlot + 1) % Self.capacity
        }
    }

    var count: Int { entries.count }

    private func matches(_ entry: Entry, plan: Plan, ctx: RequestContext, route: RuntimeRoute) -> Bool {
        if plan.method && entry.method != ctx.method { return false }
        if plan.path && entry.path != ctx.target.path { return false }
        if plan.query && entry.queryString != .some(ctx.target.query) { return false }
        if plan.host && entry.host != .some(ctx.host) { return false }
        if plan.route && entry.route != route.id { return false }
        if plan.authenticated && entry.authenticated != (ctx.identity != nil) { return false }
        if plan.identity {
            switch (entry.identity, ctx.identity) {
            case (nil, nil): break
            case (let a?, let b?): if !a.isSameObject(as: b) { return false }
            default: return false
            }
        }
        return true
    }
}
