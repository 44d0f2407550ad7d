#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a token's claims and `typ` must satisfy (RFC 7519 §4.1, RFC 8725 §3).
public struct ClaimsPolicy: Sendable {
    public enum Audiences: Sendable, Equatable {
        /// `aud` is not checked (only for tools and issuers configured with `audiences: any`).
        case any
        /// `aud` (a string, or an array of strings) must contain at least one of these.
        case oneOf(Set<String>)
    }

    /// Exact string the `iss` claim must equal; nil: not checked.
    public var issuer: String?
    public var audiences: Audiences
    /// Tolerated clock skew, in seconds, for `exp`, `nbf` and `iat`.
    public var leeway: Double
    /// Whether a token without `exp` is refused (`missing_claim`).
    public var requireExpiration: Bool
    /// Longest accepted `exp - iat`, in seconds; tokens then also need `iat`.
    public var maxLifetime: Double?
    /// Expected `typ` header (e.g. `at+jwt`), compared case-insensitively, with or without
    /// the `application/` prefix (RFC 7515 §4.1.9); nil: not checked.
    public var expectedType: String?

    public static let defaultLeeway: Double = 60

    /// The claims `check` reads.
    public static let registeredClaimNames: Set<String> = ["exp", "nbf", "iat", "iss", "aud"]

    public init(issuer: String? = nil, audiences: Audiences = .any, leeway: Double = defaultLeeway,
                requireExpiration: Bool = true, maxLifetime: Double? = nil, expectedType: String? = nil) {
        self.issuer = issuer
        self.audiences = audiences
        self.leeway = leeway
        self.requireExpiration = requireExpiration
        self.maxLifetime = maxLifetime
        self.expectedType = expectedType
    }

    /// The current time in seconds since the epoch.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Checks the time claims only.
    public func checkTimes(_ claims: JSONObject, now: Double) throws(JOSEError) {
        try checkTimes(exp: try time(claims, "exp"), nbf: try time(claims, "nbf"), iat: try time(claims, "iat"), now: now)
    }

    /// Checks already-extracted time claims (every verified-token cache hit does this again).
    public func checkTimes(exp: Double?, nbf: Double?, iat: Double?, now: Double) throws(JOSEError) {
        if exp == nil, requireExpiration { throw JOSEError(.missingClaim, "the token has no \"exp\" claim") }
        if let exp, now >= exp + leeway {
            throw JOSEError(.expired, "the token expired at \(Self.format(exp)) (now \(Self.format(now)), leeway \(Int(leeway)) s)")
        }
        if let nbf, now + leeway < nbf {
            throw JOSEError(.notYetValid, "the token is not valid before \(Self.format(nbf)) (now \(Self.format(now)), leeway \(Int(leeway)) s)")
        }
        if let iat, iat > now + leeway {
            throw JOSEError(.issuedInFuture, "the token was issued at \(Self.format(iat)), in the future (now \(Self.format(now)), leeway \(Int(leeway)) s)")
        }
    }

    /// Checks every claim rule, in the order AUTH_GUIDE.md lists.
    public func check(header: JSONObject, claims: JSONObject, now: Double) throws(JOSEError) {
        try checkTimes(claims, now: now)
        if let maxLifetime {
            guard let iat = try time(claims, "iat") else {
                throw JOSEError(.missingClaim, "the token has no \"iat\" claim, needed to check its lifetime")
            }
            guard let exp = try time(claims, "exp") else {
                throw JOSEError(.missingClaim, "the token has no \"exp\" claim, needed to check its lifetime")
            }
            if exp - iat > maxLifetime {
                throw JOSEError(.lifetimeTooLong, "the token lives \(Int(exp - iat)) s; at most \(Int(maxLifetime)) s are accepted")
            }
        }
        if let issuer {
            guard let value = claims["iss"] else { throw JOSEError(.missingClaim, "the token has no \"iss\" claim") }
            guard let iss = value.stringValue else { throw JOSEError(.invalidClaim, "\"iss\" must be a string") }
            guard iss == issuer else { throw JOSEError(.wrongIssuer, "issuer \"\(iss)\" is not \"\(issuer)\"") }
        }
        if case .oneOf(let accepted) = audiences {
            guard let value = claims["aud"] else { throw JOSEError(.missingClaim, "the token has no \"aud\" claim") }
            let audiences: [String]
            switch value {
            case .string(let single): audiences = [single]
            case .array(let elements):
                let strings = elements.compactMap(\.stringValue)
                guard strings.count == elements.count else { throw JOSEError(.invalidClaim, "\"aud\" must be a string or an array of strings") }
                audiences = strings
            default: throw JOSEError(.invalidClaim, "\"aud\" must be a string or an array of strings")
            }
            guard audiences.contains(where: accepted.contains) else {
                throw JOSEError(.wrongAudience, "audience \(audiences) contains none of \(accepted.sorted())")
            }
        }
        if let expectedType {
            guard let typ = header["typ"]?.stringValue else {
                throw JOSEError(.wrongType, "the header has no \"typ\"; \"\(expectedType)\" is required")
            }
            guard Self.normalizedType(typ) == Self.normalizedType(expectedType) else {
                throw JOSEError(.wrongType, "typ \"\(typ)\" is not \"\(expectedType)\"")
            }
        }
    }

    private func time(_ claims: JSONObject, _ name: String) throws(JOSEError) -> Double? {
        guard let value = claims[name] else { return nil }
        guard case .number(let number) = value else {
            throw JOSEError(.invalidClaim, "\"\(name)\" must be a JSON number (NumericDate), not \(value.typeName)")
        }
        return number.double
    }

    static func normalizedType(_ type: String) -> String {
        let lowered = type.lowercased()
        return lowered.hasPrefix("application/") ? String(lowered.dropFirst("application/".count)) : lowered
    }

    /// `1800000000 (2027-01-15T08:00:00Z)`: the claim as written and as people read it.
    static func format(_ time: Double) -> String {
        let seconds = Int64(time.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let iso = "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))Z"
        return "\(seconds) (\(iso))"
    }
}
