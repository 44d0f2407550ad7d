import Synchronization

/// A JWT whose signature and claims were verified.
public struct VerifiedJWT: Sendable {
    public let header: JSONObject
    public let algorithm: JWSAlgorithm
    /// The `kid` of the key that verified the signature (nil if the key had none).
    public let keyID: String?
    /// The payload exactly as signed: a validated JSON object (strict UTF-8, no duplicate
    /// member names). Callers that need the claims in another form (a policy value) convert
    /// these bytes once instead of going through `claims`.
    public let payload: [UInt8]
    /// The registered claims verification looked at (`exp`, `nbf`, `iat`, `iss`, `aud`), when present.
    public let registeredClaims: JSONObject
    private let lazyClaims: LazyClaims

    init(header: JSONObject, algorithm: JWSAlgorithm, keyID: String?, payload: [UInt8], registeredClaims: JSONObject) {
        self.header = header
        self.algorithm = algorithm
        self.keyID = keyID
        self.payload = payload
        self.registeredClaims = registeredClaims
        self.lazyClaims = LazyClaims()
    }

    /// Every claim, built from `payload` on first use and kept.
    public var claims: JSONObject {
        lazyClaims.value { (try? JSONParser.parse(bytes: payload))?.objectValue ?? registeredClaims }
    }

    /// `exp`, if present, in seconds since the epoch.
    public var expiresAt: Double? { registeredClaims["exp"]?.numberValue?.double }
}

/// Claims built at most once per verified token, from any thread.
private final class LazyClaims: Sendable {
    private let storage = Mutex<JSONObject?>(nil)

    func value(_ build: () -> JSONObject) -> JSONObject {
        if let built = storage.withLock({ $0 }) { return built }
        let built = build()
        storage.withLock { $0 = $0 ?? built }
        return built
    }
}

/// Verifies JWS-signed JWTs against a key set, in the order docs/AUTH_GUIDE.md lists:
/// size, structure, `alg`, `crit`, key selection, signature, then claims. Nothing from the
/// payload is parsed or trusted before the signature has verified.
public struct JWTVerifier: Sendable {
    public var keys: JWKS
    public var allowedAlgorithms: Set<JWSAlgorithm>
    public var claimsPolicy: ClaimsPolicy
    public var maxTokenBytes: Int

    public init(keys: JWKS, allowedAlgorithms: Set<JWSAlgorithm> = JWSAlgorithm.allAsymmetric,
                claims: ClaimsPolicy = ClaimsPolicy(), maxTokenBytes: Int = CompactJWS.defaultMaxBytes) {
        self.keys = keys
        self.allowedAlgorithms = allowedAlgorithms
        self.claimsPolicy = claims
        self.maxTokenBytes = maxTokenBytes
    }

    public func verify(_ token: String, now: Double = ClaimsPolicy.now()) throws(JOSEError) -> VerifiedJWT {
        var token = token
        return try token.withUTF8Bytes { (buffer) throws(JOSEError) -> VerifiedJWT in
            try verify(bytes: buffer, now: now)
        }
    }

    public func verify(bytes token: UnsafeRawBufferPointer, now: Double = ClaimsPolicy.now()) throws(JOSEError) -> VerifiedJWT {
        let jws = try CompactJWS(bytes: token, maxBytes: maxTokenBytes)
        let (key, algorithm) = try jws.verifySignature(keys: keys, allowedAlgorithms: allowedAlgorithms)
        let registered = try jws.registeredClaims()
        try claimsPolicy.check(header: jws.header, claims: registered, now: now)
        return VerifiedJWT(header: jws.header, algorithm: algorithm, keyID: key.kid, payload: jws.payload, registeredClaims: registered)
    }
}
