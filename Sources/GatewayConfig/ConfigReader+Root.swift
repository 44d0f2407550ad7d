import Yams

/// The top level of routes.yaml. Sections that others refer to (issuers, policy, identity
/// headers) are read first, whatever their order in the file, so routes can be checked against them.
extension ConfigReader {
    func readConfiguration(_ root: Node) -> GatewayConfiguration? {
        guard let top = fields(root, allowed: ConfigKeys.topLevel, in: "the top level") else { return nil }
        var config = GatewayConfiguration()

        var listenValid = true
        if let node = top["listen"] {
            if let address = socketAddress(node, key: "listen") { config.listen = address } else { listenValid = false }
        }
        if let node = top["admin"], let admin = fields(node, allowed: ConfigKeys.admin, in: "admin"),
           let listen = admin["listen"], let address = socketAddress(listen, key: "listen") {
            config.admin = address
            if listenValid, address == config.listen, address.port != 0 {
                error("admin listen \(address) is the same address as the traffic listener; give the admin API its own port",
                      at: listen)
            }
        }
        if let node = top["workers"], let value = integer(node, key: "workers", range: 0...1024) { config.workers = value }
        if let node = top["shutdown_grace"], let value = duration(node, key: "shutdown_grace", positive: false) {
            config.shutdownGrace = value
        }
        if let node = top["limits"], let limits = readLimits(node) { config.limits = limits }
        if let node = top["trusted_proxies"], let proxies = readTrustedProxies(node) { config.trustedProxies = proxies }
        if let node = top["identity_headers"], let headers = readIdentityHeaders(node, key: "identity_headers") {
            config.identityHeaders = headers
        }
        if let node = top["issuers"], let issuers = readIssuers(node) { config.issuers = issuers }
        if let node = top["policy"], let policy = readPolicy(node) { config.policy = policy }
        if let node = top["decision_log"], let log = readDecisionLog(node) { config.decisionLog = log }

        if let node = top["routes"] {
            config.routes = readRoutes(node)
        } else {
            let at = top.entries.first { $0.key == "routes" }?.keyNode.mark ?? top.mark
            error("routes: at least one route is required", at: at)
        }
        return config
    }

    func socketAddress(_ node: Node, key: String) -> SocketAddressSpec? {
        guard let value = string(node, key: key) else { return nil }
        switch Addresses.socketAddress(value) {
        case .success(let address): return address
        case .failure(let failure):
            error("\(key): \(failure.message)", at: node)
            return nil
        }
    }

    func readLimits(_ node: Node) -> Limits? {
        guard let fields = fields(node, allowed: ConfigKeys.limits, in: "limits") else { return nil }
        var limits = Limits()
        if let n = fields["max_header_bytes"], let v = size(n, key: "max_header_bytes") {
            if let int = intSize(v, node: n, key: "max_header_bytes") { limits.maxHeaderBytes = int }
        }
        if let n = fields["max_uri_bytes"], let v = size(n, key: "max_uri_bytes") {
            if let int = intSize(v, node: n, key: "max_uri_bytes") { limits.maxURIBytes = int }
        }
        if let n = fields["max_body_bytes"], let v = size(n, key: "max_body_bytes") { limits.maxBodyBytes = v }
        if let n = fields["discard_body_bytes"], let v = size(n, key: "discard_body_bytes") { limits.discardBodyBytes = v }
        if let n = fields["discard_body_timeout"], let v = duration(n, key: "discard_body_timeout", positive: true) {
            limits.discardBodyTimeout = v
        }
        return limits
    }

    /// Header and URI limits are held in memory whole: at most 1 GiB.
    func intSize(_ bytes: Int64, node: Node, key: String) -> Int? {
        guard bytes <= 1 << 30 else {
            error("\(key): at most 1GiB (the whole header block is held in memory)", at: node)
            return nil
        }
        return Int(bytes)
    }

    func readTrustedProxies(_ node: Node) -> [String]? {
        guard let items = stringList(node, key: "trusted_proxies", nonEmpty: false) else { return nil }
        var proxies: [String] = []
        for (value, item) in items {
            if Syntax.isIPv4(value) || Syntax.isIPv6(value) {
                proxies.append(value)
            } else if value.contains("/") {
                error("trusted_proxies: '\(value.debugEscaped)': address ranges (CIDR) are not supported; list each proxy's IP address",
                      at: item)
            } else {
                error("trusted_proxies: '\(value.debugEscaped)' is not an IP address (host names are not resolved)", at: item)
            }
        }
        return proxies
    }

    /// `Header-Name: claim.path` lines, in file order; `{}` means none.
    func readIdentityHeaders(_ node: Node, key: String) -> [IdentityHeader]? {
        guard let entries = freeEntries(node, in: key) else { return nil }
        var headers: [IdentityHeader] = []
        var firstSeen: [String: Node] = [:]
        var ok = true
        for entry in entries {
            if let problem = Syntax.identityHeaderProblem(entry.key) {
                error("\(key): \(problem)", at: entry.keyNode)
                ok = false
                continue
            }
            if let first = firstSeen[entry.key.lowercased()] {
                error("\(key): header '\(entry.key)' is listed twice (header names ignore case; first at \(first.position))",
                      at: entry.keyNode)
                ok = false
                continue
            }
            firstSeen[entry.key.lowercased()] = entry.keyNode
            guard let claim = string(entry.value, key: entry.key) else { ok = false; continue }
            if let problem = Syntax.claimPathProblem(claim) {
                error("\(entry.key): \(problem)", at: entry.value)
                ok = false
                continue
            }
            headers.append(IdentityHeader(name: entry.key, claim: claim))
        }
        return ok ? headers : nil
    }

    /// Relative paths are relative to the configuration file's directory; `.` and `..` removed.
    func resolvePath(_ path: String) -> String {
        FilePaths.resolve(path, against: baseDirectory)
    }
}
