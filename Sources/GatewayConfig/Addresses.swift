/// Listener addresses and URLs of routes.yaml.
enum Addresses {
    /// `host:port` or `[v6]:port`; port 0 asks the system for a free port (tests).
    static func socketAddress(_ text: String) -> Result<SocketAddressSpec, ValueParsers.Failure> {
        let help = "expected host:port, e.g. 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080"
        let host: String
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return .failure(.init("'\(text.debugEscaped)': missing ']' (\(help))")) }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return .failure(.init("'\(text.debugEscaped)': missing ':port' (\(help))")) }
            portText = rest.dropFirst()
            guard Syntax.isIPv6(host) else { return .failure(.init("'\(host.debugEscaped)' is not an IPv6 address")) }
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                return .failure(.init("'\(text.debugEscaped)' has no port (\(help))"))
            }
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                return .failure(.init("'\(text.debugEscaped)': write IPv6 addresses in brackets, e.g. [::1]:8080"))
            }
            guard Syntax.isHostname(host) else {
                return .failure(.init(host.isEmpty ? "'\(text.debugEscaped)' has no host (\(help))"
                                                   : "'\(host.debugEscaped)' is not a valid host name or IPv4 address"))
            }
        }
        guard let port = port(portText), port <= 65_535 else {
            return .failure(.init("'\(text.debugEscaped)': the port must be a number from 0 to 65535"))
        }
        return .success(SocketAddressSpec(host: host, port: port))
    }

    private static func port(_ s: Substring) -> Int? {
        guard !s.isEmpty, s.count <= 5, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(s)
    }

    struct URLParts {
        var scheme: String
        /// Lower-cased; IPv6 without brackets.
        var host: String
        var port: Int?
        /// "" or starting with "/".
        var path: String

        var hostForURL: String { host.contains(":") ? "[\(host)]" : host }
    }

    /// Splits an absolute `scheme://host[:port][/path]` URL; no user info, query or fragment.
    static func parseURL(_ text: String) -> Result<URLParts, ValueParsers.Failure> {
        guard let schemeEnd = text.firstRange(of: "://") else {
            return .failure(.init("'\(text.debugEscaped)' is not an absolute URL (expected http://host:port)"))
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard !scheme.isEmpty, scheme.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0) })
        else { return .failure(.init("'\(text.debugEscaped)' is not an absolute URL (expected http://host:port)")) }
        if text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || $0.value > 0x7E }) {
            return .failure(.init("'\(text.debugEscaped)' contains white space, control or non-ASCII characters"))
        }
        let rest = text[schemeEnd.upperBound...]
        if rest.contains("?") || rest.contains("#") {
            return .failure(.init("'\(text)' must not have a query (?) or fragment (#)"))
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let path = String(rest[authorityEnd...])
        if authority.contains("@") {
            return .failure(.init("'\(text)' must not contain user information (user@host)"))
        }
        var host: String
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return .failure(.init("'\(text)': missing ']' after the IPv6 address")) }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(.init("'\(text)': unexpected text after ']'")) }
                portText = after.dropFirst()
            }
            guard Syntax.isIPv6(host) else { return .failure(.init("'\(text)': '\(host)' is not an IPv6 address")) }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                host = String(authority[..<colon])
                portText = authority[authority.index(after: colon)...]
            } else {
                host = String(authority)
            }
            guard Syntax.isHostname(host) else {
                return .failure(.init(host.isEmpty ? "'\(text)' has no host" : "'\(text)': '\(host)' is not a valid host name or IPv4 address"))
            }
        }
        host = host.lowercased()
        var port: Int?
        if let portText {
            guard let value = self.port(portText), (1...65_535).contains(value) else {
                return .failure(.init("'\(text)': the port must be a number from 1 to 65535"))
            }
            port = value
        }
        return .success(URLParts(scheme: scheme, host: host, port: port, path: path))
    }

    /// An upstream: `http://host[:port][/base]`, returned in canonical form (explicit port, no
    /// trailing slash). https is refused for now.
    static func upstreamURL(_ text: String) -> Result<String, ValueParsers.Failure> {
        let parts: URLParts
        switch parseURL(text) {
        case .failure(let failure): return .failure(failure)
        case .success(let value): parts = value
        }
        switch parts.scheme {
        case "http": break
        case "https":
            return .failure(.init("'\(text)': https upstreams are not supported yet (TLS to upstreams is planned); "
                                  + "use http:// to a local or sidecar address"))
        default:
            return .failure(.init("'\(text)': scheme '\(parts.scheme)' is not supported for upstreams (use http://)"))
        }
        var path = parts.path
        while path.hasSuffix("/") { path.removeLast() }
        if let problem = PathPatterns.literalPathProblem(path.isEmpty ? "/" : path, what: "the upstream's base path") {
            return .failure(.init("'\(text)': \(problem)"))
        }
        return .success("http://\(parts.hostForURL):\(parts.port ?? 80)\(path)")
    }

    /// An issuer or JWKS URL: http or https; plain http only to loopback unless allowed.
    /// Returned exactly as written (an issuer is compared byte for byte with `iss`).
    static func issuerURLProblem(_ text: String, allowInsecureHTTP: Bool) -> String? {
        let parts: URLParts
        switch parseURL(text) {
        case .failure(let failure): return failure.message
        case .success(let value): parts = value
        }
        switch parts.scheme {
        case "https": return nil
        case "http" where allowInsecureHTTP || Syntax.isLoopback(parts.host): return nil
        case "http": return "'\(text)': plain http is refused except to loopback; use https, or set allow_insecure_http: true"
        default: return "'\(text)': scheme '\(parts.scheme)' is not supported (use https://)"
        }
    }
}
