import Yams

/// `routes:` — each route read whole (every problem reported), then checked against the
/// top-level sections and against the routes before it (first match in file order wins).
extension ConfigReader {
    /// A path alternative of an earlier route, for the unreachable-route check.
    struct PlacedPath {
        let routeID: String
        let line: Int
        let host: String?
        /// Empty: any method.
        let methods: Set<String>
        let path: Route.PathMatch
    }

    func readRoutes(_ node: Node) -> [Route] {
        guard let items = list(node, key: "routes", emptyHint: " (at least one route is required)") else { return [] }
        var routes: [Route] = []
        var ids: [String: Node] = [:]
        var placed: [PlacedPath] = []
        for item in items {
            if let route = readRoute(item, ids: &ids, placed: &placed) { routes.append(route) }
        }
        return routes
    }

    /// What one route's keys gave; nil parts had problems (already reported).
    private struct Parts {
        var id: String?
        var match: (match: Route.Match, pathNodes: [Node])?
        var upstream: Route.Upstream?
        var auth = Route.Auth()
        var policy = Route.RoutePolicy()
        var identityHeaders: [IdentityHeader]?
        var websocket: Route.WebSocket?
        var limits: (maxBodyBytes: Int64?, maxHeaderBytes: Int?) = (nil, nil)
        var stripPrefix: String?
        /// False once any part had a problem.
        var ok = true
    }

    private func readRoute(_ node: Node, ids: inout [String: Node], placed: inout [PlacedPath]) -> Route? {
        guard let f = fields(node, allowed: ConfigKeys.route, in: "a route") else { return nil }
        var parts = readParts(f, ids: &ids)
        let name = parts.id.map { "route '\($0)'" } ?? "this route"
        parts.ok = checkParts(parts, f, name: name) && parts.ok
        if let match = parts.match {
            parts.ok = checkReachable(match.match, pathNodes: match.pathNodes, name: name, placed: placed) && parts.ok
            if let id = parts.id {
                let line = f.mark?.line ?? 0
                for path in match.match.paths {
                    placed.append(PlacedPath(routeID: id, line: line, host: match.match.host,
                                             methods: Set(match.match.methods), path: path))
                }
            }
        }
        guard parts.ok, let id = parts.id, let match = parts.match, let upstream = parts.upstream else { return nil }
        var route = Route(id: id, match: match.match, upstream: upstream)
        route.stripPrefix = parts.stripPrefix
        route.auth = parts.auth
        route.policy = parts.policy
        route.identityHeaders = parts.identityHeaders
        route.websocket = parts.websocket
        route.maxBodyBytes = parts.limits.maxBodyBytes
        route.maxHeaderBytes = parts.limits.maxHeaderBytes
        route.line = f.mark?.line ?? 0
        return route
    }

    private func readParts(_ f: Fields, ids: inout [String: Node]) -> Parts {
        var parts = Parts()
        let idNode = f["id"]
        if let idNode, let value = string(idNode, key: "id") {
            if let problem = Syntax.routeIDProblem(value) {
                error("id: \(problem)", at: idNode)
                parts.ok = false
            } else if let first = ids[value] {
                error("id: route id '\(value)' is used twice (first at \(first.position))", at: idNode)
                parts.ok = false
            } else {
                ids[value] = idNode
                parts.id = value
            }
        } else if idNode == nil {
            error("a route needs an 'id' (e.g. id: devices; policies see it as input.route)", at: f.mark)
            parts.ok = false
        }
        let name = parts.id.map { "route '\($0)'" } ?? "this route"
        if let n = f["match"] {
            parts.match = readMatch(n)
        } else {
            error("\(name) needs 'match' (e.g. match: {path_prefix: /api})", at: idNode ?? f.node)
        }
        if let n = f["upstream"] {
            parts.upstream = readUpstream(n)
        } else {
            error("\(name) needs 'upstream' (e.g. upstream: {urls: [http://127.0.0.1:9101]})", at: idNode ?? f.node)
        }
        if let n = f["auth"] {
            if let value = readAuth(n) { parts.auth = value } else { parts.ok = false }
        }
        if let n = f["policy"] {
            if let value = readRoutePolicy(n) { parts.policy = value } else { parts.ok = false }
        }
        if let n = f["identity_headers"] {
            parts.identityHeaders = readIdentityHeaders(n, key: "identity_headers")
            if parts.identityHeaders == nil { parts.ok = false }
        }
        if let n = f["websocket"] {
            let value = readWebSocket(n)
            parts.websocket = value.websocket
            parts.ok = parts.ok && value.ok
        }
        if let n = f["limits"] {
            if let value = readRouteLimits(n) { parts.limits = value } else { parts.ok = false }
        }
        if let n = f["strip_prefix"], let value = string(n, key: "strip_prefix") {
            if let problem = PathPatterns.stripPrefixProblem(value) {
                error(problem, at: n)
                parts.ok = false
            } else {
                parts.stripPrefix = value
            }
        }
        return parts
    }

    /// Checks across a route's parts and against the top level.
    private func checkParts(_ parts: Parts, _ f: Fields, name: String) -> Bool {
        var ok = true
        let anchor = f["id"] ?? f.node
        if parts.auth.mode != .public, declaredIssuers.isEmpty {
            error("\(name): auth mode '\(parts.auth.mode.rawValue)' needs at least one issuer in the top-level issuers "
                  + "(or set auth: {mode: public})", at: f["auth"] ?? anchor)
            ok = false
        }
        if parts.auth.mode == .public {
            var noEffect: [(key: String, node: Node?)] = []
            if !parts.auth.issuers.isEmpty { noEffect.append(("auth.issuers", f["auth"]?.mapping?["issuers"])) }
            if let n = f["identity_headers"] { noEffect.append(("identity_headers", n)) }
            if let websocket = parts.websocket, let n = f["websocket"] {
                if websocket.tokenQuery != nil { noEffect.append(("websocket.token_query", n)) }
                if websocket.tokenCookie != nil { noEffect.append(("websocket.token_cookie", n)) }
                if websocket.closeOnTokenExpiry { noEffect.append(("websocket.close_on_token_expiry", n)) }
            }
            for (key, node) in noEffect {
                error("\(name): \(key) has no effect with auth mode public (no token is read); remove it", at: node ?? anchor)
                ok = false
            }
        }
        if parts.policy.mode != .off, !policySourceDeclared {
            error("\(name) evaluates a policy (mode \(parts.policy.mode.rawValue)) but no policy.directory or policy.git is configured; "
                  + "configure one, or set policy: {mode: off} on the route", at: f["policy"] ?? anchor)
            ok = false
        }
        if let match = parts.match?.match {
            if parts.websocket != nil, !match.methods.isEmpty, !match.methods.contains("GET") {
                error("\(name): WebSocket upgrades are GET requests; methods must include GET", at: f["match"] ?? anchor)
                ok = false
            }
            if let strip = parts.stripPrefix, !match.paths.contains(where: { PathPatterns.canStart(with: strip, $0) }) {
                error("strip_prefix '\(strip)' never applies: none of \(name)'s paths starts with it", at: f["strip_prefix"])
                ok = false
            }
        }
        return ok
    }

    /// Refuses a path alternative that an earlier route always takes first.
    private func checkReachable(_ match: Route.Match, pathNodes: [Node], name: String, placed: [PlacedPath]) -> Bool {
        var ok = true
        let methods = Set(match.methods)
        for (path, node) in zip(match.paths, pathNodes) {
            guard let earlier = placed.first(where: { covers($0, host: match.host, methods: methods, path: path) }) else { continue }
            error("\(name): \(path.display) is never reached: route '\(earlier.routeID)' (line \(earlier.line)) matches it first "
                  + "(routes are tried in file order)", at: node)
            ok = false
        }
        return ok
    }

    private func covers(_ earlier: PlacedPath, host: String?, methods: Set<String>, path: Route.PathMatch) -> Bool {
        guard earlier.host == nil || earlier.host == host else { return false }
        guard earlier.methods.isEmpty || (!methods.isEmpty && methods.isSubset(of: earlier.methods)) else { return false }
        switch (earlier.path, path) {
        case (.prefix("/"), _): return true
        case (.prefix(let p), .prefix(let q)), (.prefix(let p), .exact(let q)): return q == p || q.hasPrefix(p + "/")
        case (.exact(let p), .exact(let q)): return p == q
        case (.glob(let p), .glob(let q)): return p == q
        default: return false
        }
    }
}

extension Route.PathMatch {
    var display: String {
        switch self {
        case .exact(let p): return "path \(p)"
        case .prefix(let p): return "path_prefix \(p)"
        case .glob(let p): return "path_glob \(p)"
        }
    }
}
