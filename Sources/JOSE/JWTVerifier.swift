/// A JWT whose signature and claims were verified.
public struct VerifiedJWT: Sendable {
    public let header: JSONObject
    public let claims: JSONObject
    public let algorithm: JWSAlgorithm
    /// The `kid` of the key that verified the signature (nil if the key had none).
    public let keyID: String?
    /// `exp`, if present, in seconds since the epoch.
    public var expiresAt: Double? { claims["exp"]?.numberValue?.double }
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
        let key = try jws.verifySignature(keys: keys, allowedAlgorithms: allowedAlgorithms)
        let claims = try jws.claims()
        try claimsPolicy.check(header: jws.header, claims: claims, now: now)
        return VerifiedJWT(header: jws.header, claims: claims, algorithm: try JWSAlgorithm.named(jws.algorithmName), keyID: key.kid)
    }
}
