import JOSE
import NIOHTTP1
import Synchronization

/// What the test admin API (`--test-admin`) can change while tests run: how the JWKS endpoint
/// behaves, plus counters tests read back from `GET /admin/test/state`.
final class TestAdminState: Sendable {
    enum JWKSMode: Sendable, Equatable {
        case ok
        /// Answer with this status (and a JSON error) instead of the key set.
        case fail(status: Int)
        /// Answer normally after this many milliseconds.
        case slow(milliseconds: Int)
    }

    struct Counters: Sendable {
        var tokensIssued = 0
        var tokenRequestsRefused = 0
        var jwksRequests = 0
        var rotations = 0
    }

    let jwksMode = Mutex<JWKSMode>(.ok)
    let counters = Mutex(Counters())

    static let maxDelayMilliseconds = 60_000

    /// `POST /admin/test/jwks` with `{"mode": "ok" | "fail" | "slow", "status": 503, "delay_ms": 2000}`.
    func setJWKSMode(body: [UInt8]) -> IdPReply {
        guard case .object(let object)? = try? JSONParser.parse(bytes: body) else {
            return .error(.badRequest, "invalid_request", "the body must be a JSON object")
        }
        let known: Set<String> = ["mode", "status", "delay_ms"]
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            return .error(.badRequest, "invalid_request", "unknown member \"\(unknown)\"; expected mode, status, delay_ms")
        }
        func integer(_ name: String, default fallback: Int) -> Int? {
            guard let value = object[name] else { return fallback }
            guard let number = value.numberValue, number.double.rounded() == number.double, abs(number.double) < 1e9 else { return nil }
            return Int(number.double)
        }
        let mode: JWKSMode
        switch object["mode"]?.stringValue {
        case "ok"?: mode = .ok
        case "fail"?:
            guard let status = integer("status", default: 503), (400...599).contains(status) else {
                return .error(.badRequest, "invalid_request", "\"status\" must be an integer from 400 to 599")
            }
            mode = .fail(status: status)
        case "slow"?:
            guard let delay = integer("delay_ms", default: 2000), (0...Self.maxDelayMilliseconds).contains(delay) else {
                return .error(.badRequest, "invalid_request", "\"delay_ms\" must be an integer from 0 to \(Self.maxDelayMilliseconds)")
            }
            mode = .slow(milliseconds: delay)
        default:
            return .error(.badRequest, "invalid_request", "\"mode\" must be \"ok\", \"fail\" or \"slow\"")
        }
        jwksMode.withLock { $0 = mode }
        return .json(.ok, ["jwks": Self.describe(mode)])
    }

    static func describe(_ mode: JWKSMode) -> JSONValue {
        switch mode {
        case .ok: ["mode": "ok"]
        case .fail(let status): ["mode": "fail", "status": .number(JSONNumber(status))]
        case .slow(let delay): ["mode": "slow", "delay_ms": .number(JSONNumber(delay))]
        }
    }
}
