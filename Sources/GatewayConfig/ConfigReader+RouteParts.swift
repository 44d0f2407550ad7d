import Yams

/// The parts of one route: match, upstream, auth, policy, websocket, limits.
extension ConfigReader {
    /// A route's `match`, and the nodes of its path alternatives (for later checks).
    func readMatch(_ node: Node) -> (match: Route.Match, pathNodes: [Node])? {
        guard let f = fields(node, allowed: ConfigKeys.match, in: "a route's match") else { return nil }
        var ok = true
        var host: String?
        if let n = f["host"], let value = string(n, key: "host") {
            if let problem = hostPatternProblem(value) { error("host: \(problem)", at: n); ok = false } else { host = value.lowercased() }
        }
        var methods: [String] = []
        if let n = f["methods"] {
            if let values = stringList(n, key: "methods", emptyHint: " (omit methods to allow every method)") {
                for (method, item) in values {
                    if let problem = Syntax.methodProblem(method) { error("methods: \(problem)", at: item); ok = false }
                    else { methods.append(method) }
                }
            } else { ok = false }
        }
        let given = ConfigKeys.pathKeys.filter { f.has($0) }
        guard given.count == 1, let kind = PathPatterns.Kind(rawValue: given[0]), let pathNode = f[given[0]] else {
            if given.isEmpty {
                error("a route's match needs exactly one of path, path_prefix or path_glob", at: f.mark)
            } else {
                let second = f.entries.filter { given.contains($0.key) }[1]
                error("match: use exactly one of path, path_prefix or path_glob (found \(given.joined(separator: " and "))); "
                      + "list alternatives of one kind instead, e.g. path_prefix: [/a, /api/a]", at: second.keyNode)
            }
            return nil
        }
        guard let patterns = readPatterns(pathNode, kind: kind), ok else { return nil }
        let paths: [Route.PathMatch] = patterns.map { pattern, _ in
            switch kind {
            case .exact: return .exact(pattern)
            case .prefix: return .prefix(pattern)
            case .glob: return .glob(pattern)
            }
        }
        return (Route.Match(host: host, paths: paths, methods: methods), patterns.map(\.node))
    }

    /// One pattern or a list of alternatives.
    private func readPatterns(_ node: Node, kind: PathPatterns.Kind) -> [(value: String, node: Node)]? {
        let key = kind.rawValue
        let items: [(value: String, node: Node)]
        if case .sequence = node {
            guard let values = stringList(node, key: key) else { return nil }
            items = values
        } else {
            guard let value = string(node, key: key) else { return nil }
            items = [(value, node)]
        }
        var ok = true
        for (pattern, item) in items {
            if let problem = PathPatterns.problem(pattern, kind: kind) { error(problem, at: item); ok = false }
        }
        return ok ? items : nil
    }

    /// `api.example.com`, `*.example.com`, an IPv4 address or `[v6]`; no port.
    private func hostPatternProblem(_ host: String) -> String? {
        if host == "*" { return "'*' matches every host; omit host instead" }
        if host.hasPrefix("[") {
            return host.hasSuffix("]") && Syntax.isIPv6(String(host.dropFirst().dropLast())) ? nil
                : "'\(host.debugEscaped)' is not a bracketed IPv6 address"
        }
        if host.contains(":") { return "'\(host.debugEscaped)': hosts are matched without the port; remove ':…'" }
        let name = host.hasPrefix("*.") ? String(host.dropFirst(2)) : host
        if name.contains("*") { return "'\(host.debugEscaped)': '*' is only allowed as the whole first label ('*.example.com')" }
        return Syntax.isHostname(name) ? nil : "'\(host.debugEscaped)' is not a valid host name"
    }

    func readUpstream(_ node: Node) -> Route.Upstream? {
        guard let f = fields(node, allowed: ConfigKeys.upstream, in: "a route's upstream") else { return nil }
        var urls: [String] = []
        var ok = true
        if let n = f["urls"] {
            if let values = stringList(n, key: "urls") {
                var canonical: [String: Node] = [:]
                for (text, item) in values {
                    switch Addresses.upstreamURL(text) {
                    case .failure(let failure):
                        error("urls: \(failure.message)", at: item)
                        ok = false
                    case .success(let url):
                        if let first = canonical[url] {
                            error("urls: '\(text)' is the same upstream as the one at \(first.position)", at: item)
                            ok = false
                        }
                        canonical[url] = item
                        urls.append(url)
                    }
                }
            } else { ok = false }
        } else {
            error("a route's upstream needs 'urls' (a list such as [http://127.0.0.1:9101])", at: f.mark)
            ok = false
        }
        var upstream = Route.Upstream(urls: urls)
        if let n = f["connect_timeout"], let v = duration(n, key: "connect_timeout", positive: true) { upstream.connectTimeout = v }
        if let n = f["read_timeout"], let v = duration(n, key: "read_timeout", positive: true) { upstream.readTimeout = v }
        if let n = f["pool_size"], let v = integer(n, key: "pool_size", range: 0...100_000) { upstream.poolSize = v }
        if let n = f["retries"], let v = integer(n, key: "retries", range: 0...10) { upstream.retries = v }
        return ok ? upstream : nil
    }

    func readAuth(_ node: Node) -> Route.Auth? {
        guard let f = fields(node, allowed: ConfigKeys.routeAuth, in: "a route's auth") else { return nil }
        var auth = Route.Auth()
        var ok = true
        if let n = f["mode"] {
            if let mode = enumValue(n, key: "mode", Route.AuthMode.self) { auth.mode = mode } else { ok = false }
        }
        if let n = f["issuers"] {
            if let values = stringList(n, key: "issuers", emptyHint: " (omit issuers to accept every configured issuer)") {
                for (issuer, item) in values {
                    if declaredIssuers.contains(issuer) { auth.issuers.append(issuer); continue }
                    ok = false
                    if declaredIssuers.isEmpty {
                        error("issuers: '\(issuer)' is not configured: the top-level issuers list is empty", at: item)
                    } else {
                        var message = "issuers: '\(issuer)' is not configured in the top-level issuers"
                        if let suggestion = Suggestions.closest(to: issuer, in: declaredIssuers) { message += "; did you mean '\(suggestion)'?" }
                        error(message + " (configured: \(declaredIssuers.joined(separator: ", ")))", at: item)
                    }
                }
            } else { ok = false }
        }
        return ok ? auth : nil
    }

    func readRoutePolicy(_ node: Node) -> Route.RoutePolicy? {
        guard let f = fields(node, allowed: ConfigKeys.routePolicy, in: "a route's policy") else { return nil }
        var policy = Route.RoutePolicy()
        var ok = true
        if let n = f["query"], let value = string(n, key: "query") {
            if let problem = Syntax.queryProblem(value) { error("query: \(problem)", at: n); ok = false } else { policy.query = value }
        }
        if let n = f["mode"] {
            if let mode = enumValue(n, key: "mode", Route.PolicyMode.self) { policy.mode = mode } else { ok = false }
        }
        return ok ? policy : nil
    }

    /// `websocket: true|false`, or a mapping of options (`enabled` defaults to true).
    func readWebSocket(_ node: Node) -> (websocket: Route.WebSocket?, ok: Bool) {
        if case .scalar = node {
            guard let enabled = bool(node, key: "websocket") else { return (nil, false) }
            return (enabled ? Route.WebSocket() : nil, true)
        }
        guard let f = fields(node, allowed: ConfigKeys.websocket, in: "a route's websocket") else { return (nil, false) }
        var ws = Route.WebSocket()
        var ok = true
        var enabled = true
        if let n = f["enabled"] { if let v = bool(n, key: "enabled") { enabled = v } else { ok = false } }
        if let n = f["token_query"], let v = string(n, key: "token_query") {
            if let problem = Syntax.queryParameterProblem(v) { error("token_query: \(problem)", at: n); ok = false } else { ws.tokenQuery = v }
        }
        if let n = f["token_cookie"], let v = string(n, key: "token_cookie") {
            if let problem = Syntax.tokenProblem(v, what: "cookie name") { error("token_cookie: \(problem)", at: n); ok = false } else { ws.tokenCookie = v }
        }
        if let n = f["idle_timeout"], let v = duration(n, key: "idle_timeout", positive: true) { ws.idleTimeout = v }
        if let n = f["close_on_token_expiry"], let v = bool(n, key: "close_on_token_expiry") { ws.closeOnTokenExpiry = v }
        if !enabled {
            let options = f.entries.filter { $0.key != "enabled" && !$0.value.isNull }
            if let first = options.first {
                error("websocket: \(options.map(\.key).joined(separator: ", ")) set but websocket is disabled (enabled: false); "
                      + "remove \(options.count == 1 ? "it" : "them") or enable websocket", at: first.keyNode)
                ok = false
            }
            return (nil, ok)
        }
        return (ws, ok)
    }

    /// A route's own limits; nil fields fall back to the top level.
    func readRouteLimits(_ node: Node) -> (maxBodyBytes: Int64?, maxHeaderBytes: Int?)? {
        guard let f = fields(node, allowed: ConfigKeys.routeLimits, in: "a route's limits") else { return nil }
        var result: (maxBodyBytes: Int64?, maxHeaderBytes: Int?) = (nil, nil)
        if let n = f["max_body_bytes"], let v = size(n, key: "max_body_bytes") { result.maxBodyBytes = v }
        if let n = f["max_header_bytes"], let v = size(n, key: "max_header_bytes") {
            result.maxHeaderBytes = intSize(v, node: n, key: "max_header_bytes")
        }
        return result
    }

    func enumValue<E: RawRepresentable & CaseIterable>(_ node: Node, key: String, _: E.Type) -> E? where E.RawValue == String {
        guard let text = string(node, key: key) else { return nil }
        if let value = E(rawValue: text) { return value }
        let allowed = E.allCases.map(\.rawValue)
        var message = "\(key): unknown value '\(text.debugEscaped)'"
        if let suggestion = Suggestions.closest(to: text, in: allowed) { message += "; did you mean '\(suggestion)'?" }
        error(message + " (allowed: \(allowed.joined(separator: ", ")))", at: node)
        return nil
    }
}
