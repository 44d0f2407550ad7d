import GatewayConfig
import NIOHTTP1

/// Phase 1 (accept): what makes a request unsafe to interpret or forward. The HTTP parser already
/// refuses bad bytes, obs-fold and oversized header blocks; these are the checks on the parsed head.
enum AcceptChecks {
    /// A reason to answer 400, or nil when the head is acceptable.
    static func problem(_ head: HTTPRequestHead, fields: RequestFields, limits: Limits) -> String? {
        let transferEncodings = fields.transferEncodings, lengths = fields.lengths
        if head.uri.utf8.count > limits.maxURIBytes {
            return "the request target is longer than \(limits.maxURIBytes) bytes"
        }
        if fields.headerBytes > limits.maxHeaderBytes {
            return "the request headers are larger than \(limits.maxHeaderBytes) bytes"
        }
        if head.version.major != 1 || head.version.minor > 1 {
            return "HTTP/\(head.version.major).\(head.version.minor) is not supported"
        }
        if head.method == .CONNECT {
            return "CONNECT is not supported"
        }
        // Request smuggling (RFC 9112 §6.3): never guess which framing the upstream would pick.
        if !transferEncodings.isEmpty && !lengths.isEmpty {
            return "both Content-Length and Transfer-Encoding are present"
        }
        if !transferEncodings.isEmpty {
            if head.version.minor == 0 { return "Transfer-Encoding is not allowed in HTTP/1.0" }
            if let problem = transferCodingProblem(transferEncodings) { return problem }
        }
        if let problem = lengthProblem(lengths) { return problem }
        if head.method == .TRACE && (!transferEncodings.isEmpty || !lengths.isEmpty) {
            return "TRACE must not have a body"
        }
        if fields.hostCount > 1 { return "more than one Host header" }
        if fields.hostCount == 0 && head.version.minor == 1 { return "the Host header is missing" }
        if let host = fields.host, !isValidHost(host) { return "invalid Host header" }
        return nil
    }

    /// Anything but exactly `chunked` (the gateway decodes it and frames the body again).
    static func transferCodingProblem(_ transferEncodings: [String]) -> String? {
        let codings = transferEncodings.flatMap { $0.split(separator: ",") }.map { $0.trimmingOWS() }
        return codings.count == 1 && ASCII.equal(codings[0].utf8, "chunked") ? nil : "only Transfer-Encoding: chunked is supported"
    }

    /// `Content-Length` values that are not one decimal number (identical duplicates and lists of
    /// one value are one value, RFC 9110 §8.6).
    static func lengthProblem(_ lengths: [String]) -> String? {
        guard !lengths.isEmpty else { return nil }
        let values = lengths.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }.map { $0.trimmingOWS() }
        guard values.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 18 && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }) else {
            return "invalid Content-Length"
        }
        return values.dropFirst().contains(where: { $0 != values[0] }) ? "conflicting Content-Length values" : nil
    }

    /// How the body of a request with these fields is framed; nil when no reading can be trusted
    /// (both framings, another transfer coding, a bad length), which phase 1 answers with 400.
    static func bodyFraming(_ fields: RequestFields) -> BodyFraming? {
        if !fields.transferEncodings.isEmpty {
            return fields.lengths.isEmpty && transferCodingProblem(fields.transferEncodings) == nil ? .chunked : nil
        }
        if fields.lengths.isEmpty { return BodyFraming.none }
        guard lengthProblem(fields.lengths) == nil, let length = contentLength(fields.lengths) else { return nil }
        return length == 0 ? BodyFraming.none : .length(length)
    }

    /// The declared body length (identical duplicates and lists were accepted as one value).
    static func contentLength(_ lengths: [String]) -> Int64? {
        guard let first = lengths.first?.split(separator: ",").first else { return nil }
        return Int64(first.trimmingOWS())
    }

    /// host[:port] with no whitespace, slash, userinfo or control bytes.
    static func isValidHost(_ host: String) -> Bool {
        !host.isEmpty && host.utf8.count <= 255 && host.utf8.allSatisfy { b in
            b > 0x20 && b < 0x7f && b != UInt8(ascii: "/") && b != UInt8(ascii: "@") && b != UInt8(ascii: "\\")
                && b != UInt8(ascii: "?") && b != UInt8(ascii: "#")
        }
    }

    static func isWebSocketUpgrade(_ head: HTTPRequestHead, fields: RequestFields) -> Bool {
        guard head.method == .GET, fields.mayUpgrade else { return false }
        let upgrade = fields.upgrades.contains { $0.split(separator: ",").contains { ASCII.equal($0.trimmingOWS().utf8, "websocket") } }
        return upgrade && HeaderRules.connectionTokens(fields.connections).contains { ASCII.equal($0.utf8, "upgrade") }
    }
}

/// The fields phases 1 to 4 look at, found in one pass over the head (a lookup by name would scan
/// every field again for each of them).
struct RequestFields {
    /// The first `X-Request-ID`.
    var requestID: String?
    var host: String?
    var hostCount = 0
    var transferEncodings: [String] = []
    var lengths: [String] = []
    var authorization: String?
    var authorizationCount = 0
    /// The values of every `Connection` field (the names they list are hop-by-hop).
    var connections: [String] = []
    /// The values of every `Upgrade` field.
    var upgrades: [String] = []
    /// Both `Upgrade` and `Connection` are present (a WebSocket upgrade is possible).
    var mayUpgrade: Bool { !upgrades.isEmpty && !connections.isEmpty }
    /// Request line and field lines as sent (approximately: name, value, ": " and CRLF).
    var headerBytes: Int

    init(_ head: HTTPRequestHead) {
        self.init(method: head.method.rawValue.utf8.count, uri: head.uri.utf8.count)
        for (name, value) in head.headers { note(name: name.utf8, value: value) }
    }

    /// Before any field: the request line's share of `headerBytes`.
    init(method: Int, uri: Int) {
        headerBytes = uri + method + 12
    }

    /// Takes in one field line.
    @inline(__always) mutating func note<Name: Collection<UInt8>>(name: Name, value: String) {
        let count = name.count
        headerBytes += count + value.utf8.count + 4
        switch count {
        case 4:
            if ASCII.equal(name, "host") {
                if host == nil { host = value }
                hostCount += 1
            }
        case 7:
            if ASCII.equal(name, "upgrade") { upgrades.append(value) }
        case 10:
            if ASCII.equal(name, "connection") { connections.append(value) }
        case 12:
            if requestID == nil && ASCII.equal(name, "x-request-id") { requestID = value }
        case 13:
            if ASCII.equal(name, "authorization") {
                if authorization == nil { authorization = value }
                authorizationCount += 1
            }
        case 14:
            if ASCII.equal(name, "content-length") { lengths.append(value) }
        case 17:
            if ASCII.equal(name, "transfer-encoding") { transferEncodings.append(value) }
        default:
            break
        }
    }

    /// The client lets the connection stay open after this request: HTTP/1.1 unless it sent
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    func keepAlive(minorVersion: Int) -> Bool {
        var close = false, keepAlive = false
        if !connections.isEmpty {
            for token in HeaderRules.connectionTokens(connections) {
                if ASCII.equal(token.utf8, "close") { close = true } else if ASCII.equal(token.utf8, "keep-alive") { keepAlive = true }
            }
        }
        return !close && (minorVersion >= 1 || keepAlive)
    }
}
