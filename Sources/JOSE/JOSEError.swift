/// The one error type of the JOSE module: a stable machine-readable `code` (it becomes the
/// gateway's 401 `error_description` and the decision record's reason) and a message for people.
///
/// `Code` is an extensible struct, not an enum, so new codes do not break callers' switches.
public struct JOSEError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Not a well-formed JWS compact serialization (segments, base64url, JSON, header fields).
        public static let malformed = Code(rawValue: "malformed")
        /// The token is larger than the configured limit; nothing was decoded.
        public static let tooLarge = Code(rawValue: "too_large")
        /// `alg` is `none`, symmetric (HS*), unknown, or outside the caller's allow-list.
        public static let unsupportedAlg = Code(rawValue: "unsupported_alg")
        /// The `crit` header names an extension this implementation does not understand.
        public static let unsupportedCrit = Code(rawValue: "unsupported_crit")
        /// No key in the set matches the token's `kid` (or, without `kid`, not exactly one candidate).
        public static let unknownKid = Code(rawValue: "unknown_kid")
        /// The key named by `kid` exists but may not verify this token (`use`, `key_ops`, `alg`, key type).
        public static let keyMismatch = Code(rawValue: "key_mismatch")
        /// The key named by `kid` was refused when the key set was loaded (e.g. RSA under 2048 bits).
        public static let weakKey = Code(rawValue: "weak_key")
        /// A JWK or key file that cannot be used at all (bad encoding, point not on the curve, ...).
        public static let invalidKey = Code(rawValue: "invalid_key")
        /// The signature does not verify (or has the wrong length or range).
        public static let badSignature = Code(rawValue: "bad_signature")
        /// `exp` is in the past (beyond the leeway).
        public static let expired = Code(rawValue: "expired")
        /// `nbf` is in the future (beyond the leeway).
        public static let notYetValid = Code(rawValue: "not_yet_valid")
        /// `iat` is in the future (beyond the leeway).
        public static let issuedInFuture = Code(rawValue: "issued_in_future")
        /// A required claim (`exp`, `iss`, `aud`, `iat` for max_lifetime) is absent.
        public static let missingClaim = Code(rawValue: "missing_claim")
        /// A registered claim has the wrong JSON type (e.g. `exp` as a string).
        public static let invalidClaim = Code(rawValue: "invalid_claim")
        /// `iss` differs from the expected issuer.
        public static let wrongIssuer = Code(rawValue: "wrong_issuer")
        /// `aud` holds none of the accepted audiences.
        public static let wrongAudience = Code(rawValue: "wrong_audience")
        /// The token's lifetime (`exp - iat`) exceeds the configured maximum.
        public static let lifetimeTooLong = Code(rawValue: "lifetime_too_long")
        /// The `typ` header differs from the expected type.
        public static let wrongType = Code(rawValue: "wrong_type")
        /// Signing failed (bad private key, unsupported algorithm for the key).
        public static let signingFailed = Code(rawValue: "signing_failed")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
