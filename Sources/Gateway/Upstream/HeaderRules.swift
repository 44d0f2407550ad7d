import NIOCore
import NIOHTTP1

/// What crosses the gateway in each direction (RFC 9110 §7.6.1 hop-by-hop fields, forwarding
/// headers, identity headers).
enum HeaderRules {
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate", "proxy-authorization",
    ]

    /// Proxy-override headers some frameworks trust (a client IP, a rewritten path): from a peer
    /// that is not a trusted proxy they would let the client say what the policy never checked.
    static let untrustedOverrides: Set<String> = ["x-real-ip", "x-original-url", "x-rewrite-url", "x-original-uri", "x-client-ip", "true-client-ip"]

    /// Header names listed in `Connection` values (they are hop-by-hop too), as sent, except
    /// `Content-Length` and `Host`, which are never removed: the message's framing and target.
    static func connectionTokens(_ values: [String]) -> [Substring] {
        var tokens: [Substring] = []
        for value in values {
            for token in value.split(separator: ",") {
                let t = token.trimmingOWS()
                if !t.isEmpty && !ASCII.equal(t.utf8, "content-length") && !ASCII.equal(t.utf8, "host") { tokens.append(t) }
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

    /// tchar (RFC 9110 §5.6.2).
    @inline(__always) static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x61...0x7a, 0x41...0x5a, 0x30...0x39, 0x2d, 0x2e, 0x5f, 0x21, 0x23...0x27, 0x2a, 0x2b, 0x5e, 0x60, 0x7c, 0x7e:
            return true
        default:
            return false
        }
    }

    /// A value safe to put in a header: no CR, LF, NUL or other control byte except tab.
    static func isSafeValue(_ value: String) -> Bool {
        !value.utf8.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7f }
    }

    /// What a request field is to the forwarding rules, read from its name without making a
    /// lower-cased copy (the names sent most often, `Host` and `Authorization`, are capitalized).
    enum RequestField {
        case hopByHop, transferEncoding, contentLength, forwardedFor, forwardedProto, forwardedHost, forwarded
        case requestID, cookie, untrustedOverride, other
    }

    static func classify(_ name: String) -> RequestField {
        let utf8 = name.utf8
        switch utf8.count {
        case 2: if ASCII.equal(utf8, "te") { return .hopByHop }
        case 6: if ASCII.equal(utf8, "cookie") { return .cookie }
        case 7: if ASCII.equal(utf8, "upgrade") || ASCII.equal(utf8, "trailer") { return .hopByHop }
        case 9:
            if ASCII.equal(utf8, "forwarded") { return .forwarded }
            if ASCII.equal(utf8, "x-real-ip", dashes: true) { return .untrustedOverride }
        case 10: if ASCII.equal(utf8, "connection") || ASCII.equal(utf8, "keep-alive") { return .hopByHop }
        case 11: if ASCII.equal(utf8, "x-client-ip", dashes: true) { return .untrustedOverride }
        case 12: if ASCII.equal(utf8, "x-request-id") { return .requestID }
        case 13: if ASCII.equal(utf8, "x-rewrite-url", dashes: true) { return .untrustedOverride }
        case 14:
            if ASCII.equal(utf8, "content-length") { return .contentLength }
            if ASCII.equal(utf8, "x-original-url", dashes: true) || ASCII.equal(utf8, "x-original-uri", dashes: true)
                || ASCII.equal(utf8, "true-client-ip", dashes: true) {
                return .untrustedOverride
            }
        case 15: if ASCII.equal(utf8, "x-forwarded-for") { return .forwardedFor }
        case 16:
            if ASCII.equal(utf8, "proxy-connection") { return .hopByHop }
            if ASCII.equal(utf8, "x-forwarded-host") { return .forwardedHost }
        case 17:
            if ASCII.equal(utf8, "transfer-encoding") { return .transferEncoding }
            if ASCII.equal(utf8, "x-forwarded-proto") { return .forwardedProto }
        case 18: if ASCII.equal(utf8, "proxy-authenticate") { return .hopByHop }
        case 19: if ASCII.equal(utf8, "proxy-authorization") { return .hopByHop }
        default: break
        }
        return .other
    }

    /// The request head sent upstream, written as bytes into `out`: the request line with the
    /// normalized path, the client's fields except hop-by-hop ones, those `Connection` names,
    /// identity headers (any spelling, `_` for `-` included) and untrusted proxy overrides; then
    /// the forwarding headers, `X-Request-ID` and the identity headers. Returns whether the body
    /// goes upstream chunked.
    @discardableResult
    static func writeUpstreamRequestHead(_ ctx: RequestContext, route: RuntimeRoute, target: UpstreamTarget, websocket: Bool,
                                         into buffer: inout ByteBuffer, scratch: inout [UInt8]) -> Bool {
        let incoming = ctx.head.headers
        var out = HeadBuilder(reusing: &scratch, capacity: ctx.headBytes + 384)
        defer { out.giveBack(to: &scratch) }
        out.append(ctx.method)
        out.literal(" ")
        out.append(route.upstreamPath(ctx.target.path, target: target))
        if let query = upstreamQuery(ctx.target.query, removing: ctx.tokenQueryParameter) {
            out.literal("?")
            out.append(query)
        }
        out.literal(" HTTP/1.1\r\n")

        // `Connection` names are hop-by-hop too; most requests have none.
        let tokens = connectionTokens(ctx.fields.connections)
        let chunked = !ctx.fields.transferEncodings.isEmpty
        let identityNames = ctx.config.identityHeaderList
        let trusted = !ctx.config.trustedProxies.isEmpty && ctx.config.trustedProxies.contains(ctx.sourceIP)
        var forwardedFor: String?
        var forwardedProto: String?
        var forwardedHost: String?
        var contentLengthSent = false
        for (name, value) in incoming {
            let kind = classify(name)
            switch kind {
            case .hopByHop, .transferEncoding, .requestID:
                continue
            case .untrustedOverride:
                if !trusted { continue }
            default:
                break
            }
            if !tokens.isEmpty && tokens.contains(where: { ASCII.equalIgnoringCase(name.utf8, $0.utf8) }) { continue }
            // `X_Auth_Subject` reaches CGI-style upstreams as the same variable as `X-Auth-Subject`.
            if identityNames.contains(where: { $0.utf8.count == name.utf8.count && ASCII.equal(name.utf8, $0, dashes: true) }) { continue }
            switch kind {
            case .contentLength:
                // Accept checks allowed only identical values: exactly one goes upstream.
                if contentLengthSent { continue }
                contentLengthSent = true
                if let length = ctx.contentLength {
                    out.field(name, String(length))
                    continue
                }
            case .forwardedFor:
                if trusted { forwardedFor = forwardedFor.map { $0 + ", " + value } ?? value }
                continue
            case .forwardedProto:
                if trusted { forwardedProto = value }
                continue
            case .forwardedHost:
                if trusted { forwardedHost = value }
                continue
            case .forwarded:
                if !trusted { continue }
            case .cookie:
                if let cookie = ctx.tokenCookie {
                    let kept = value.split(separator: ";").filter {
                        !$0.trimmingOWS().hasPrefix(cookie + "=")
                    }.joined(separator: ";")
                    if !kept.trimmingOWS().isEmpty { out.field(name, kept) }
                    continue
                }
            default:
                break
            }
            out.field(name, value)
        }
        if chunked {
            // The body stays chunked (the decoder removed the client's chunks; they are made again).
            out.literal("transfer-encoding: chunked\r\n")
        }
        if websocket {
            out.literal("connection: upgrade\r\n")
            if let upgrade = ctx.fields.upgrades.first { out.field("upgrade", upgrade) }
        }
        out.literal("x-forwarded-for: ")
        if let forwardedFor {
            out.append(forwardedFor)
            out.literal(", ")
        }
        out.append(ctx.sourceIP)
        out.literal("\r\nx-forwarded-proto: ")
        out.append(forwardedProto ?? ctx.scheme)
        out.literal("\r\n")
        if let host = forwardedHost ?? ctx.host { out.field("x-forwarded-host", host) }
        out.field("x-request-id", ctx.requestID)
        if let identity = ctx.identity, !route.identityHeaders.isEmpty {
            identity.identityHeaderLines(for: route) { out.append(bytes: $0) }
        }
        out.literal("\r\n")
        buffer.writeBytes(out.bytes)
        return chunked
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
                                   framing: ClientFraming, keepAlive: Bool, into buffer: inout ByteBuffer, scratch: inout [UInt8]) {
        let version = ctx.head.version
        var out = HeadBuilder(reusing: &scratch, capacity: upstream.block.readableBytes + 160)
        defer { out.giveBack(to: &scratch) }
        out.literal(version.minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        out.decimal(upstream.status)
        out.literal(" ")
        upstream.block.withUnsafeReadableBytes { raw in
            if upstream.reason.isEmpty {
                out.append(HTTPResponseStatus(statusCode: upstream.status).reasonPhrase)
            } else {
                out.append(bytes: UnsafeRawBufferPointer(rebasing: raw[upstream.reason]))
            }
            out.literal("\r\n")
            let tokens = upstream.connectionTokens
            for field in upstream.fields {
                let line = UnsafeRawBufferPointer(rebasing: raw[field.line])
                let name = field.name
                if websocket && (ResponseParser.equalsLower(raw, name, "upgrade") || ResponseParser.equalsLower(raw, name, "connection")) {
                    out.append(bytes: line)
                    continue
                }
                if isHopByHop(raw, name) || ResponseParser.equalsLower(raw, name, "x-request-id")
                    || ResponseParser.equalsLower(raw, name, "x-process-time") {
                    continue
                }
                if framing != .none && ResponseParser.equalsLower(raw, name, "content-length") { continue }
                if !tokens.isEmpty && tokens.contains(where: { ASCII.equalIgnoringCase(UnsafeRawBufferPointer(rebasing: raw[name]), $0.utf8) }) {
                    continue
                }
                out.append(bytes: line)
            }
        }
        switch framing {
        case .length(let n):
            out.literal("Content-Length: ")
            out.decimal(n)
            out.literal("\r\n")
        case .chunked:
            out.literal("Transfer-Encoding: chunked\r\n")
        case .none, .close:
            break
        }
        out.literal("X-Request-ID: ")
        out.append(ctx.requestID)
        out.literal("\r\nX-Process-Time: ")
        ctx.writeProcessTime(into: &out)
        out.literal("\r\n")
        if !websocket {
            if !keepAlive {
                out.literal("Connection: close\r\n")
            } else if version.minor == 0 {
                out.literal("Connection: keep-alive\r\n")  // HTTP/1.0 closes by default
            }
        }
        out.literal("\r\n")
        buffer.writeBytes(out.bytes)
    }

    private static func isHopByHop(_ raw: UnsafeRawBufferPointer, _ name: Range<Int>) -> Bool {
        switch name.count {
        case 2: return ResponseParser.equalsLower(raw, name, "te")
        case 7: return ResponseParser.equalsLower(raw, name, "trailer") || ResponseParser.equalsLower(raw, name, "upgrade")
        case 10: return ResponseParser.equalsLower(raw, name, "connection") || ResponseParser.equalsLower(raw, name, "keep-alive")
        case 16: return ResponseParser.equalsLower(raw, name, "proxy-connection")
        case 17: return ResponseParser.equalsLower(raw, name, "transfer-encoding")
        case 18: return ResponseParser.equalsLower(raw, name, "proxy-authenticate")
        case 19: return ResponseParser.equalsLower(raw, name, "proxy-authorization")
        default: return false
        }
    }
}
