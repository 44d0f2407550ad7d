import NIOCore
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

    /// How the client gets a proxied response's body.
    enum ClientFraming: Equatable {
        /// No body (HEAD, 1xx, 204, 304): the upstream's `Content-Length`, if any, is passed on as it is.
        case none
        case length(Int64)
        /// Re-framed in chunks (an HTTP/1.1 client; the upstream sent chunks or closes at the end).
        case chunked
        /// Until the gateway closes the connection (an HTTP/1.0 client without a length).
        case close
    }

    static func clientFraming(_ upstream: UpstreamResponseHead, clientVersion: HTTPVersion) -> ClientFraming {
        switch upstream.framing {
        case .none: return .none
        case .length(let n): return .length(n)
        case .chunked, .untilClose: return clientVersion.minor >= 1 && clientVersion.major == 1 ? .chunked : .close
        }
    }

    /// The response head sent to the client, as bytes: the status line in the client's version,
    /// the upstream's field lines copied except hop-by-hop ones, those `Connection` names, framing
    /// fields and the gateway's own; then the framing, `X-Request-ID`, `X-Process-Time` and
    /// `Connection` as this connection needs.
    static func clientResponseHead(_ upstream: UpstreamResponseHead, ctx: RequestContext, websocket: Bool,
                                   framing: ClientFraming, keepAlive: Bool, into out: inout ByteBuffer) {
        let version = ctx.head.version
        out.writeStaticString(version.minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        out.writeString(String(upstream.status))
        out.writeStaticString(" ")
        let reason = upstream.bytes(upstream.reason)
        if reason.isEmpty { out.writeString(HTTPResponseStatus(statusCode: upstream.status).reasonPhrase) } else { out.writeBytes(reason) }
        out.writeStaticString("\r\n")
        let tokens = upstream.connectionTokens
        for field in upstream.fields {
            if websocket && (upstream.nameIs(field, "upgrade") || upstream.nameIs(field, "connection")) {
                out.writeBytes(upstream.bytes(field.line))
                continue
            }
            if isHopByHop(upstream, field) || upstream.nameIs(field, "x-request-id") || upstream.nameIs(field, "x-process-time") {
                continue
            }
            if upstream.nameIs(field, "content-length") && framing != .none { continue }
            if !tokens.isEmpty && tokens.contains(upstream.name(field).lowercased()) { continue }
            out.writeBytes(upstream.bytes(field.line))
        }
        switch framing {
        case .length(let n):
            out.writeStaticString("Content-Length: ")
            out.writeString(String(n))
            out.writeStaticString("\r\n")
        case .chunked:
            out.writeStaticString("Transfer-Encoding: chunked\r\n")
        case .none, .close:
            break
        }
        out.writeStaticString("X-Request-ID: ")
        out.writeString(ctx.requestID)
        out.writeStaticString("\r\nX-Process-Time: ")
        out.writeString(ctx.processTime)
        out.writeStaticString("\r\n")
        if !websocket {
            if !keepAlive {
                out.writeStaticString("Connection: close\r\n")
            } else if version.minor == 0 {
                out.writeStaticString("Connection: keep-alive\r\n")  // HTTP/1.0 closes by default
            }
        }
        out.writeStaticString("\r\n")
    }

    private static func isHopByHop(_ head: UpstreamResponseHead, _ field: UpstreamResponseHead.Field) -> Bool {
        switch field.name.count {
        case 2: return head.nameIs(field, "te")
        case 7: return head.nameIs(field, "trailer") || head.nameIs(field, "upgrade")
        case 10: return head.nameIs(field, "connection") || head.nameIs(field, "keep-alive")
        case 16: return head.nameIs(field, "proxy-connection")
        case 17: return head.nameIs(field, "transfer-encoding")
        case 18: return head.nameIs(field, "proxy-authenticate")
        case 19: return head.nameIs(field, "proxy-authorization")
        default: return false
        }
    }
}
