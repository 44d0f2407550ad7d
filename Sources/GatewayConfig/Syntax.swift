#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Lexical rules for names that appear in routes.yaml. Each `problem` function returns nil when
/// the text is valid, else the reason.
enum Syntax {
    /// RFC 9110 token characters (header names, method names, cookie names).
    static func isTokenChar(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "a"..."z", "A"..."Z", "0"..."9": return true
        case "!", "#", "$", "%", "&", "'", "*", "+", "-", ".", "^", "_", "`", "|", "~": return true
        default: return false
        }
    }

    static func tokenProblem(_ s: String, what: String) -> String? {
        if s.isEmpty { return "\(what) must not be empty" }
        if let bad = s.unicodeScalars.first(where: { !isTokenChar($0) }) {
            return "\(what) '\(s.debugEscaped)' contains '\(String(bad).debugEscaped)', which is not allowed "
                + "(letters, digits and !#$%&'*+-.^_`|~ only)"
        }
        return nil
    }

    /// Headers the gateway owns or that are hop-by-hop: an identity header may not use them.
    static let reservedHeaders: Set<String> = [
        "host", "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "content-length",
        "content-type", "content-encoding", "expect", "authorization", "cookie", "set-cookie", "forwarded",
        "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-request-id",
        "x-process-time", "sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol",
        "sec-websocket-extensions", "sec-websocket-accept", "www-authenticate",
    ]

    static func identityHeaderProblem(_ name: String) -> String? {
        if let problem = tokenProblem(name, what: "header name") { return problem }
        let lower = name.lowercased()
        if reservedHeaders.contains(lower) || lower.hasPrefix("proxy-") {
            return "header '\(name)' is set or removed by the gateway itself and cannot carry an identity"
        }
        return nil
    }

    /// `sub`, `realm_access.roles`: dot-separated, non-empty segments without white space.
    static func claimPathProblem(_ path: String) -> String? {
        if path.isEmpty { return "claim path must not be empty" }
        if path.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
            return "claim path '\(path.debugEscaped)' has an empty segment (write e.g. realm_access.roles)"
        }
        if path.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) {
            return "claim path '\(path.debugEscaped)' must not contain white space"
        }
        return nil
    }

    static func methodProblem(_ method: String) -> String? {
        if let problem = tokenProblem(method, what: "method") { return problem }
        if method != method.uppercased() {
            return "method names are case-sensitive: write '\(method.uppercased())', not '\(method)'"
        }
        return nil
    }

    /// `[a-z0-9][a-z0-9_.-]*`, at most 64 characters.
    static func routeIDProblem(_ id: String) -> String? {
        let ok = id.utf8.count <= 64 && id.unicodeScalars.enumerated().allSatisfy { index, c in
            switch c {
            case "a"..."z", "0"..."9": return true
            case "_", ".", "-": return index > 0
            default: return false
            }
        }
        return ok ? nil : "route id '\(id.debugEscaped)' must match [a-z0-9][a-z0-9_.-]* (lower case, at most 64 characters)"
    }

    /// `data.pkg.rule`: `data` then identifier segments.
    static func queryProblem(_ query: String) -> String? {
        let segments = query.split(separator: ".", omittingEmptySubsequences: false)
        let identifier = { (s: Substring) -> Bool in
            guard let first = s.unicodeScalars.first, first == "_" || ("a"..."z").contains(first) || ("A"..."Z").contains(first)
            else { return false }
            return s.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
        }
        guard segments.count >= 2, segments[0] == "data", segments.allSatisfy(identifier) else {
            return "query '\(query.debugEscaped)' must be a rule path such as data.systemupdate.authz.allow"
        }
        return nil
    }

    /// Query parameter names carrying a WebSocket token: unreserved characters only.
    static func queryParameterProblem(_ name: String) -> String? {
        let ok = !name.isEmpty && name.unicodeScalars.allSatisfy {
            switch $0 {
            case "a"..."z", "A"..."Z", "0"..."9", "-", ".", "_", "~": return true
            default: return false
            }
        }
        return ok ? nil : "query parameter name '\(name.debugEscaped)' may only use letters, digits and -._~"
    }

    /// A DNS name or IPv4 literal: labels of letters, digits, `-` and `_`, at most 253 characters.
    static func isHostname(_ host: String) -> Bool {
        guard !host.isEmpty, host.utf8.count <= 253 else { return false }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        // A numeric last label is an IPv4 address (no top-level domain is all digits).
        if let last = labels.last, last.allSatisfy({ $0.isASCII && $0.isNumber }) { return isIPv4(host) }
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && label.unicodeScalars.allSatisfy {
                switch $0 {
                case "a"..."z", "A"..."Z", "0"..."9", "-", "_": return true
                default: return false
                }
            }
        }
    }

    static func isIPv4(_ s: String) -> Bool { parses(s, family: AF_INET) }
    static func isIPv6(_ s: String) -> Bool { parses(s, family: AF_INET6) }

    private static func parses(_ s: String, family: Int32) -> Bool {
        guard !s.isEmpty, s.utf8.count < 64, !s.utf8.contains(0) else { return false }
        var buffer = [UInt8](repeating: 0, count: 16)
        return s.withCString { inet_pton(family, $0, &buffer) } == 1
    }

    static func isLoopback(_ host: String) -> Bool {
        let bare = host.lowercased()
        return bare == "localhost" || bare == "::1" || (bare.hasPrefix("127.") && isIPv4(bare))
    }
}
