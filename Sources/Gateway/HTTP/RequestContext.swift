import DecisionLog
import Foundation
import Identity
import JOSE
import NIOCore
import NIOHTTP1
import RegoLite
import Synchronization

/// The typed per-request context that travels through the phases (STYLE.md, Pingora's CTX).
final class RequestContext {
    let head: HTTPRequestHead
    let config: RuntimeConfig
    let requestID: String
    /// Monotonic start, for `X-Process-Time` and latency metrics.
    let start: NIODeadline
    /// Wall-clock start in ns since the epoch (`input.time_ns`, `time.now_ns` in the policy).
    let startWallNanos: Int64
    let method: String
    let scheme: String
    let host: String?
    var target: NormalizedTarget
    let sourceIP: String
    /// False when the client asked to close, or the server is shutting down.
    var keepAlive: Bool
    /// Declared request body length (nil: chunked or none).
    let contentLength: Int64?
    let hasBody: Bool
    /// The fields the phases look at (host, framing, credentials), read once.
    let fields: RequestFields
    /// Request line and field lines, about as sent.
    var headBytes: Int { fields.headerBytes }
    var route: RuntimeRoute?
    /// Set only after the token verified.
    var identity: VerifiedIdentity?
    var decision: PolicyDecision?
    /// The bearer token as sent (kept only to erase it from the decision record): a view of the
    /// `Authorization` value, or of the parameter or cookie that carried it.
    var token: Substring?
    /// This request's decision record, written when the response is known (`decision_log`).
    var decisionRecord: DecisionRecord?
    /// Where the token came from when not from `Authorization` (removed before forwarding).
    var tokenQueryParameter: String?
    var tokenCookie: String?
    var bodyBytesReceived: Int64 = 0
    var requestEnded = false
    /// A WebSocket upgrade: nothing more is read until the splice or the refusal.
    var upgrading = false
    /// Body parts that arrived before the upstream connection was ready.
    /// (An array: empty costs no allocation, and most requests never use it.)
    var pendingBody: [ByteBuffer] = []
    /// The status sent to the client (metrics, logs).
    var responseStatus = 0
    var metricsRecorded = false

    init(head: HTTPRequestHead, config: RuntimeConfig, requestID: String, target: NormalizedTarget, sourceIP: String,
         host: String?, contentLength: Int64?, hasBody: Bool, fields: RequestFields? = nil) {
        self.fields = fields ?? RequestFields(head)
        self.head = head
        self.config = config
        self.requestID = requestID
        self.start = .now()
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        self.startWallNanos = Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
        self.method = head.method.rawValue
        self.scheme = "http"
        self.host = host
        self.target = target
        self.sourceIP = sourceIP
        self.keepAlive = self.fields.keepAlive(minorVersion: head.version.minor)
        self.contentLength = contentLength
        self.hasBody = hasBody
    }

    /// Seconds since the request head arrived, with microsecond precision (`X-Process-Time`).
    var processTime: String {
        var out = HeadBuilder(capacity: 16)
        writeProcessTime(into: &out)
        return String(decoding: out.bytes, as: UTF8.self)
    }

    /// `processTime` written straight into a head being made.
    func writeProcessTime(into out: inout HeadBuilder) {
        let micros = (NIODeadline.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1000
        var fraction = micros % 1_000_000
        out.decimal(micros / 1_000_000)
        out.byte(UInt8(ascii: "."))
        var divisor: UInt64 = 100_000
        while divisor > 0 {
            out.byte(UInt8(truncatingIfNeeded: 0x30 + fraction / divisor))
            fraction %= divisor
            divisor /= 10
        }
    }

    var elapsedSeconds: Double { Double(NIODeadline.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 }
}

/// A verified token as the later phases use it: the policy's `input.token`, and what identity
/// headers are made of. Made once per token and kept with its verified-token cache entry
/// (`TokenDerivations`), so one object serves every connection and event loop that presents the
/// token: immutable but for the memo of header values, which is locked.
final class VerifiedIdentity: Sendable {
    let issuer: String
    /// `{"header": ..., "payload": ...}`, the policy input's `token` member.
    let token: Value
    let expiresAt: Double?
    /// `token` as decision records write it, encoded once for all of them.
    let logEncoding = EncodedTokenMember()
    private let memo = Mutex(HeaderValueMemo())

    init(_ verification: Authenticator.Verification) throws {
        issuer = verification.issuer
        let header = try JSONReader.parse(bytes: verification.token.headerJSON)
        let payload = try JSONReader.parse(bytes: verification.token.payload)
        token = .object(RegoObject(pairs: [(.string("header"), header), (.string("payload"), payload)]))
        expiresAt = verification.token.expiresAt
    }

    var payload: Value { token[.string("payload")] ?? .emptyObject }

    /// The same verification result (not merely an equal one): decisions cached for one identity
    /// object apply to it only.
    func isSameObject(as other: VerifiedIdentity) -> Bool { self === other }

    /// The route's identity header lines (`name: value` CRLF each) for this identity, made once per
    /// route (the route object is kept with its lines, so a reloaded route, even one allocated at
    /// the same address, never gets another route's lines).
    func identityHeaderLines(for route: RuntimeRoute, _ body: (UnsafeRawBufferPointer) -> Void) {
        let known: [UInt8]? = memo.withLock { memo in memo.lines.first { $0.route === route }?.lines }
        if let known {
            known.withUnsafeBytes(body)
            return
        }
        var out = HeadBuilder(capacity: 128)
        for header in route.identityHeaders {
            if let value = claimHeaderValue(header.claim) { out.field(header.name, value) }
        }
        let lines = out.bytes
        memo.withLock { memo in
            if memo.lines.count == HeaderValueMemo.routes { memo.lines.removeFirst() }
            memo.lines.append((route, lines))
        }
        lines.withUnsafeBytes(body)
    }

    /// A claim by dot-separated path, as a header value: strings as they are, arrays joined with
    /// ",", other values as JSON. nil when absent, and nil when the value is not safe in a header
    /// (HeaderRules.isSafeValue: a CR, LF or other control byte could end the line).
    func claimHeaderValue(_ path: String) -> String? {
        if let known = memo.withLock({ $0.values[path] }) { return known }
        let value = computeClaimHeaderValue(path).flatMap { HeaderRules.isSafeValue($0) ? $0 : nil }
        memo.withLock { memo in if memo.values.count < 64 { memo.values[path] = value } }
        return value
    }

    private func computeClaimHeaderValue(_ path: String) -> String? {
        var value = payload
        for key in path.split(separator: ".") {
            guard let next = value[.string(String(key))] else { return nil }
            value = next
        }
        switch value {
        case .string(let s): return s
        case .array(let items): return items.map { if case .string(let s) = $0 { return s }; return JSONWriter.write($0) }.joined(separator: ",")
        case .null: return nil
        default: return JSONWriter.write(value)
        }
    }
}

/// Memoized identity header values of one identity, and the header lines of the routes it was
/// last sent to.
struct HeaderValueMemo {
    /// Routes whose lines are kept: a token is sent to a handful of routes.
    static let routes = 8
    var values: [String: String?] = [:]
    var lines: [(route: RuntimeRoute, lines: [UInt8])] = []
}
