import Yams

/// `issuers:` — the trusted token issuers (docs/AUTH_GUIDE.md, "Issuers").
extension ConfigReader {
    /// JOSE's `JWSAlgorithm` raw values (this module does not import JOSE).
    static let algorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
                             "EdDSA", "Ed25519"]
    /// Larger leeways would let long-expired tokens through.
    static let maxLeeway: Double = 3600

    func readIssuers(_ node: Node) -> [IssuerSpec]? {
        guard let items = list(node, key: "issuers", nonEmpty: false) else { return nil }
        return items.compactMap(readIssuer)
    }

    private func readIssuer(_ node: Node) -> IssuerSpec? {
        guard let f = fields(node, allowed: ConfigKeys.issuer, in: "an issuer") else { return nil }
        let allowInsecure = f["allow_insecure_http"].flatMap { bool($0, key: "allow_insecure_http") } ?? false
        var ok = true

        let issuerNode = f["issuer"]
        var issuer: String?
        if let issuerNode, let value = string(issuerNode, key: "issuer") {
            // The issuer URL is fetched only for discovery, i.e. when no jwks_uri/jwks_file is given.
            let fetched = !f.has("jwks_uri") && !f.has("jwks_file")
            if let problem = Addresses.issuerURLProblem(value, allowInsecureHTTP: allowInsecure || !fetched) {
                error("issuer: \(problem)", at: issuerNode)
                ok = false
            }
            issuer = value
        } else if issuerNode == nil {
            error("an issuer needs 'issuer' (its exact iss value, e.g. https://idp.example/realms/r)", at: f.mark)
        }

        var audiences: [String] = []
        if let n = f["audiences"] {
            if let values = stringList(n, key: "audiences", emptyHint: " (write [\"*\"] to accept any audience)") {
                audiences = values.map(\.value)
                if audiences.contains("*"), audiences.count > 1 {
                    error("audiences: '*' accepts any audience; list it alone or remove it", at: n)
                    ok = false
                }
            } else { ok = false }
        } else {
            error("an issuer needs 'audiences' (the accepted aud values; [\"*\"] accepts any, explicitly)", at: f.mark)
            ok = false
        }
        guard let issuer, let issuerNode else { return nil }
        if let first = declaredIssuerNodes[issuer] {
            error("issuer '\(issuer)' is configured twice (first at \(first.position))", at: issuerNode)
            return nil
        }
        declaredIssuers.append(issuer)
        declaredIssuerNodes[issuer] = issuerNode
        var spec = IssuerSpec(issuer: issuer, audiences: audiences)
        spec.allowInsecureHTTP = allowInsecure

        if let n = f["jwks_uri"], let value = string(n, key: "jwks_uri") {
            if let problem = Addresses.issuerURLProblem(value, allowInsecureHTTP: allowInsecure) {
                error("jwks_uri: \(problem)", at: n)
                ok = false
            }
            spec.jwksURI = value
        }
        if let n = f["jwks_file"], let value = string(n, key: "jwks_file") {
            if f.has("jwks_uri") {
                error("jwks_file: set either jwks_uri (keys fetched) or jwks_file (keys from a file), not both", at: n)
                ok = false
            }
            spec.jwksFile = resolvePath(value)
        }
        if let n = f["algorithms"] {
            if let values = readAlgorithms(n) { spec.algorithms = values } else { ok = false }
        }
        if let n = f["leeway"], let value = duration(n, key: "leeway", positive: false) {
            if value > Self.maxLeeway {
                error("leeway: at most 1h (a larger leeway accepts long-expired tokens)", at: n)
                ok = false
            }
            spec.leeway = value
        }
        if let n = f["require_exp"], let value = bool(n, key: "require_exp") { spec.requireExpiration = value }
        if let n = f["max_lifetime"], let value = duration(n, key: "max_lifetime", positive: true) { spec.maxLifetime = value }
        if let n = f["typ"], let value = string(n, key: "typ") { spec.requiredType = value }
        if let n = f["required"], let value = bool(n, key: "required") { spec.required = value }
        if let n = f["cache"] {
            if f.has("jwks_file") {
                error("cache: has no effect with jwks_file (keys from a file are never fetched)", at: n)
                ok = false
            } else if let cache = readCache(n) {
                spec.cache = cache
            } else { ok = false }
        }
        return ok ? spec : nil
    }

    private func readAlgorithms(_ node: Node) -> [String]? {
        guard let values = stringList(node, key: "algorithms",
                                      emptyHint: " (omit algorithms to accept every asymmetric algorithm)") else { return nil }
        var result: [String] = []
        var ok = true
        for (name, item) in values {
            if Self.algorithms.contains(name) { result.append(name); continue }
            ok = false
            let lower = name.lowercased()
            if lower == "none" {
                error("algorithms: 'none' (unsigned tokens) is never accepted", at: item)
            } else if lower.hasPrefix("hs") {
                error("algorithms: '\(name)' (a shared-secret MAC) is never accepted: the gateway verifies asymmetric "
                      + "signatures only (\(Self.algorithms.joined(separator: " ")))", at: item)
            } else if let exact = Self.algorithms.first(where: { $0.lowercased() == lower }) {
                error("algorithms: algorithm names are case-sensitive: write '\(exact)'", at: item)
            } else {
                var message = "algorithms: unknown algorithm '\(name.debugEscaped)'"
                if let suggestion = Suggestions.closest(to: name, in: Self.algorithms) { message += "; did you mean '\(suggestion)'?" }
                error(message + " (supported: \(Self.algorithms.joined(separator: " ")))", at: item)
            }
        }
        return ok ? result : nil
    }

    private func readCache(_ node: Node) -> IssuerSpec.CacheSpec? {
        guard let f = fields(node, allowed: ConfigKeys.issuerCache, in: "an issuer's cache") else { return nil }
        var cache = IssuerSpec.CacheSpec()
        if let n = f["min_ttl"] { cache.minTTL = duration(n, key: "min_ttl", positive: true) }
        if let n = f["max_ttl"] { cache.maxTTL = duration(n, key: "max_ttl", positive: true) }
        if let n = f["default_ttl"] { cache.defaultTTL = duration(n, key: "default_ttl", positive: true) }
        if let n = f["max_stale"] { cache.maxStale = duration(n, key: "max_stale", positive: false) }
        if let n = f["unknown_kid_interval"] { cache.unknownKidInterval = duration(n, key: "unknown_kid_interval", positive: false) }
        if let n = f["fetch_timeout"] { cache.fetchTimeout = duration(n, key: "fetch_timeout", positive: true) }
        // Identity's defaults: min_ttl 5m, max_ttl 24h.
        let minTTL = cache.minTTL ?? 300
        let maxTTL = cache.maxTTL ?? 86_400
        if minTTL > maxTTL {
            let at = f["max_ttl"] ?? f["min_ttl"]
            error("cache: min_ttl (\(Int(minTTL))s) is greater than max_ttl (\(Int(maxTTL))s)", at: at)
            return nil
        }
        return cache
    }
}
