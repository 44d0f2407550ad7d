import NIOHTTP1

/// What crosses the gateway in each direction (RFC 9110 §7.6.1 hop-by-hop fields, forwarding
/// headers, identity headers).
enum HeaderRules {
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate", "proxy-authorization",
    ]

    /// Never removed because `Connection` names them: the message's framing and target.
    static let protectedFromConnection: Set<String> = ["content-length", "host"]

    /// Proxy-override headers some frameworks trust (a client IP, a rewritten path): from a peer
    /// that is not a trusted proxy they would let the client say what the policy never checked.
    static let untrustedOverrides: Set<String> = ["x-real-ip", "x-original-url", "x-rewrite-url", "x-original-uri", "x-client-ip", "true-client-ip"]

    /// Header names listed in `Connection` (they are hop-by-hop too), except the protected ones.
    static func connectionTokens(_ headers: HTTPHeaders) -> Set<String> {
        var tokens = Set<String>()
        for value in headers["connection"] {
            for token in value.split(separator: ",") {
                let t = token.trimmingOWS().lowercased()
                if !t.isEmpty && !protectedFromConnection.contains(t) { tokens.insert(t) }
            }
        }
        return tokens
    }

    /// A header a policy decision may add: a valid token, not framing, hop-by-hop or the gateway's own.
    static func isPolicySettable(_ name: String) -> Bool {
        let lower = name.lowercased()
        let reserved: Set<String> = ["content-length", "content-type", "x-request-id", "x-process-time", "www-authenticate", "date", "server"]
        return !name.isEmpty && name.utf8.allSatisfy { isTokenByte($0) } && !hopByHop.contains(lower) && !reserved.contains(lower)
    }

    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }

    /// A value safe to put in a header: no CR, LF, NUL or other control byte except tab.
    static func isSafeValue(_ value: String) -> Bool {
        !value.utf8.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7f }
    }

    /// The request head sent upstream.
    static func upstreamRequestHead(_ ctx: RequestContext, route: RuntimeRoute, target: UpstreamTarget, websocket: Bool) -> HTTPRequestHead {
        let incoming = ctx.head.headers
        let tokens = connectionTokens(incoming)
        let trusted = ctx.config.trustedProxies.contains(ctx.sourceIP)
        var headers = HTTPHeaders()
        headers.reserveCapacity(incoming.count + route.identityHeaders.count + 4)
        var forwardedFor: String?
        var forwardedProto: String?
        var forwardedHost: String?
        var contentLengthSent = false
        for (name, value) in incoming {
            let lower = name.asciiLowercased
            if hopByHop.contains(lower) || tokens.contains(lower) { continue }
            // `X_Auth_Subject` reaches CGI-style upstreams as the same variable as `X-Auth-Subject`.
            let dashed = lower.contains("_") ? lower.replacingOccurrences(of: "_", with: "-") : lower
            if ctx.config.identityHeaderNames.contains(dashed) { continue }
            if !trusted && untrustedOverrides.contains(dashed) { continue }
            switch lower {
            case "content-length":
                // Accept checks allowed only identical values: exactly one goes upstream.
                if contentLengthSent { continue }
                contentLengthSent = true
                if let length = ctx.contentLength { headers.add(name: name, value: String(length)); continue }
            case "x-forwarded-for":
                if trusted { forwardedFor = forwardedFor.map { $0 + ", " + value } ?? value }
                continue
            case "x-forwarded-proto":
                if trusted { forwardedProto = value }
                continue
            case "x-forwarded-host":
                if trusted { forwardedHost = value }
                continue
            case "forwarded":
                if !trusted { continue }
            case "x-request-id":
                continue
            case "cookie":
                if let cookie = ctx.tokenCookie {
                    let kept = value.split(separator: ";").filter {
                        !$0.trimmingOWS().hasPrefix(cookie + "=")
                    }.joined(separator: ";")
                    if !kept.trimmingOWS().isEmpty { headers.add(name: name, value: kept) }
                    continue
                }
            default:
                break
            }
            headers.add(name: name, value: value)
        }
        if incoming.contains(name: "transfer-encoding") {
            // The body stays chunked (the encoder only frames it when told so for every method).
            headers.add(name: "transfer-encoding", value: "chunked")
        }
        if websocket {
            headers.add(name: "connection", value: "upgrade")
            if let upgrade = incoming.first(name: "upgrade") { headers.add(name: "upgrade", value: upgrade) }
        }
        headers.add(name: "x-forwarded-for", value: forwardedFor.map { $0 + ", " + ctx.sourceIP } ?? ctx.sourceIP)
        headers.add(name: "x-forwarded-proto", value: forwardedProto ?? ctx.scheme)
        if let host = forwardedHost ?? ctx.host { headers.add(name: "x-forwarded-host", value: host) }
        headers.add(name: "x-request-id", value: ctx.requestID)
        if let identity = ctx.identity {
            for header in route.identityHeaders {
                if let value = identity.claimHeaderValue(header.claim), isSafeValue(value) {
                    headers.add(name: header.name, value: value)
                }
            }
        }
        var uri = route.upstreamPath(ctx.target.path, target: target)
        if let query = upstreamQuery(ctx.target.query, removing: ctx.tokenQueryParameter) { uri += "?" + query }
        return HTTPRequestHead(version: .http1_1, method: ctx.head.method, uri: uri, headers: headers)
    }

    /// The query string without the token parameter a browser WebSocket used.
    static func upstreamQuery(_ query: String?, removing parameter: String?) -> String? {
        guard let query else { return nil }
        guard let parameter else { return query }
        let kept = query.split(separator: "&", omittingEmptySubsequences: false).filter {
            let name = $0.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            return PolicyInput.formDecode(Substring(name)) != parameter
        }
        return kept.isEmpty ? nil : kept.joined(separator: "&")
    }

    /// The response head sent to the client.
    static func clientResponseHead(_ upstream: HTTPResponseHead, ctx: RequestContext, websocket: Bool) -> HTTPResponseHead {
        let tokens = connectionTokens(upstream.headers)
        var headers = HTTPHeaders()
        headers.reserveCapacity(upstream.headers.count + 3)
        for (name, value) in upstream.headers {
            let lower = name.asciiLowercased
            if lower == "x-request-id" || lower == "x-process-time" { continue }
            if websocket && (lower == "upgrade" || lower == "connection") { headers.add(name: name, value: value); continue }
            if hopByHop.contains(lower) || tokens.contains(lower) { continue }
            headers.add(name: name, value: value)
        }
        headers.add(name: "X-Request-ID", value: ctx.requestID)
        headers.add(name: "X-Process-Time", value: ctx.processTime)
        if !ctx.keepAlive && !websocket { headers.add(name: "connection", value: "close") }
        return HTTPResponseHead(version: ctx.head.version, status: upstream.status, headers: headers)
    }
}
