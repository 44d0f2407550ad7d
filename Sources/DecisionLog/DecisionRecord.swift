import RegoLite
import Synchronization

/// One decision, as the request path hands it over (DESIGN.md, "Decision records"): plain fields
/// and references to values the request already built (the policy input, the result). Nothing
/// here is encoded, masked or copied deeply: `DecisionLogger` does that on its writer thread.
///
/// Credentials are left out by the writer, whatever the masks say (`ScrubbingWriter`): headers
/// `authorization`, `proxy-authorization` and `cookie`, `input.token` when it is a string and
/// its `raw`/`encoded` members, any string containing one of `credentials` (the raw token of the
/// request) and any string that holds a compact JWS (`eyJ...` with two dots).
public struct DecisionRecord: Sendable {
    public enum Stage: String, Sendable {
        /// Authentication failed: no policy was evaluated, `result` is empty.
        case authn
        /// The policy was evaluated (or could not be: `error`).
        case authz
    }

    public var decisionID: DecisionID
    /// Wall-clock time of the decision, nanoseconds since 1970 (written as RFC 3339 UTC with ns).
    public var timestampNs: Int64
    public var requestID: String
    public var route: String
    public var stage: Stage
    /// The query evaluated (`data.systemupdate.authz.allow`); written as OPA's `path`
    /// (`systemupdate/authz/allow`) when it is a plain data reference.
    public var query: String?
    /// The policy input, unmasked (masks are applied to a copy by the writer).
    public var input: Value?
    /// The query's value; nil when undefined or not evaluated.
    public var result: Value?
    /// Policy revision that decided (a Git commit SHA or a content digest).
    public var revision: String?
    /// HTTP status the gateway answered (or would have, in dry-run mode).
    public var status: Int
    public var allowed: Bool
    /// false in dry-run mode (`AUTHZ_REQUIRED=0`, route `mode: dry_run`).
    public var enforced: Bool
    public var reasons: [String]
    public var error: String?
    /// `metrics.timer_rego_query_eval_ns`.
    public var evalNs: Int64?
    /// `metrics.timer_rego_explain_ns`, when an explanation was computed.
    public var explainNs: Int64?
    /// `metrics.timer_server_handler_ns`: the gateway's time until the decision.
    public var handlerNs: Int64?
    /// Why a deny was a deny (`PreparedQuery.explain`), for denials.
    public var explanation: Explanation?
    /// Makes `explanation` on the writer thread when it is nil: a denial's explanation is a second,
    /// tracking evaluation, kept off the request path (its time becomes `explainNs`).
    public var explain: (@Sendable () -> Explanation?)?
    /// Strings that must never be written (the request's raw token): erased wherever they occur.
    public var credentials: [String]
    /// The encoding of `input.token` shared by every record of the same verified token (one per
    /// token, kept by whoever keeps the token's identity); nil: encoded with the record.
    public var tokenEncoding: EncodedTokenMember?

    public init(decisionID: DecisionID = .next(), timestampNs: Int64, requestID: String, route: String, stage: Stage,
                query: String? = nil, input: Value? = nil, result: Value? = nil, revision: String? = nil, status: Int,
                allowed: Bool, enforced: Bool = true, reasons: [String] = [], error: String? = nil, evalNs: Int64? = nil,
                explainNs: Int64? = nil, handlerNs: Int64? = nil, explanation: Explanation? = nil, credentials: [String] = []) {
        self.decisionID = decisionID; self.timestampNs = timestampNs; self.requestID = requestID; self.route = route
        self.stage = stage; self.query = query; self.input = input; self.result = result; self.revision = revision
        self.status = status; self.allowed = allowed; self.enforced = enforced; self.reasons = reasons; self.error = error
        self.evalNs = evalNs; self.explainNs = explainNs; self.handlerNs = handlerNs; self.explanation = explanation
        self.credentials = credentials
    }
}

/// The input's `token` member of one verified token as written (scrubbed, without the record's
/// masks), made by the writer for the first record that carries it and copied into every later
/// one. Sound for any record of that token: its claims cannot contain the raw token (they are
/// part of it), and the other credential checks depend on the value alone. Used only while no
/// mask reaches into `/input/token`.
public final class EncodedTokenMember: Sendable {
    struct Encoding {
        let bytes: [UInt8]
        /// Pointers of what the scrub left out (`/input/token/...`).
        let erased: [String]
    }

    private let encoding = Mutex<Encoding?>(nil)

    public init() {}

    var cached: Encoding? { encoding.withLock { $0 } }

    func store(_ made: Encoding) { encoding.withLock { if $0 == nil { $0 = made } } }
}

/// A decision id in UUID form (version 4 layout). Made from a per-process random seed and a
/// counter mixed by a bijection, so ids are unique within a process without a system call per
/// request, and unpredictable across processes.
public struct DecisionID: Sendable, Hashable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) { self.high = high; self.low = low }

    private static let seed: (UInt64, UInt64) = {
        var g = SystemRandomNumberGenerator()
        return (g.next(), g.next())
    }()
    private static let counter = Atomic<UInt64>(0)

    public static func next() -> DecisionID {
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        let high = mix(seed.0 &+ n) & 0xFFFF_FFFF_FFFF_0FFF | 0x0000_0000_0000_4000
        let low = mix(seed.1 ^ n) & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000
        return DecisionID(high: high, low: low)
    }

    /// splitmix64's finalizer: a bijection on 64 bits.
    @inline(__always) static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`, lower-case.
    public var description: String {
        let out = JSONOutput(capacity: 64)
        appendUTF8(to: out)
        return String(decoding: UnsafeBufferPointer(start: out.base, count: out.count), as: UTF8.self)
    }

    func appendUTF8(to out: JSONOutput) {
        @inline(__always) func hex(_ v: UInt64, _ count: Int) {
            var shift = (count - 1) * 4
            while shift >= 0 { out.append(JSONBytes.hexDigits[Int((v >> UInt64(shift)) & 15)]); shift -= 4 }
        }
        hex(high >> 32, 8); out.append(UInt8(ascii: "-"))
        hex(high >> 16, 4); out.append(UInt8(ascii: "-"))
        hex(high, 4); out.append(UInt8(ascii: "-"))
        hex(low >> 48, 4); out.append(UInt8(ascii: "-"))
        hex(low, 12)
    }

    /// Parses the 36-character form (either case).
    public init?(_ text: String) {
        let digits = text.utf8.filter { $0 != UInt8(ascii: "-") }
        guard text.utf8.count == 36, digits.count == 32 else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for (i, c) in digits.enumerated() {
            guard let v = JSONBytes.hexValue(c) else { return nil }
            if i < 16 { high = high << 4 | UInt64(v) } else { low = low << 4 | UInt64(v) }
        }
        self.init(high: high, low: low)
    }
}
