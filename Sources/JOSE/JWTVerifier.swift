/// A JWT whose signature and claims were verified.
///
/// Compact on purpose (the verified-token cache holds 100,000 of them): the header and payload
/// are kept as the exact bytes that were signed and validated, plus the time claims; `header`
/// and `claims` parse them on each access, so keep the result, or convert `payload` straight
/// into the form you need (the gateway builds its policy input from it).
public struct VerifiedJWT: Sendable {
    public let algorithm: JWSAlgorithm
    /// The `kid` of the key that verified the signature (nil if the key had none).
    public let keyID: String?
    /// The protected header's JSON bytes as signed.
    public let headerJSON: [UInt8]
    /// The payload as signed: a validated JSON object (strict UTF-8, no duplicate names).
    public let payload: [UInt8]
    /// `exp`, `nbf`, `iat`, when present, in seconds since the epoch.
    public let expiresAt: Double?
    public let notBefore: Double?
    public let issuedAt: Double?

    /// The same token with its header bytes stored in `shared`, which must hold equal bytes:
    /// lets a cache keep one copy of a header that thousands of tokens repeat.
    public func sharingHeader(_ shared: [UInt8]) -> VerifiedJWT {
        precondition(shared == headerJSON, "sharingHeader needs identical header bytes")
        return VerifiedJWT(algorithm: algorithm, keyID: keyID, headerJSON: shared, payload: payload,
                           expiresAt: expiresAt, notBefore: notBefore, issuedAt: issuedAt)
    }

    /// The header (parsed from `headerJSON`).
    public var header: JSONObject {
        (try? JSONParser.parse(bytes: headerJSON))?.objectValue ?? JSONObject()
    }

    /// Every claim (parsed from `payload`).
    public var claims: JSONObject {
        (try? JSONParser.parse(bytes: payload))?.objectValue ?? JSONObject()
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
        try verify(try CompactJWS(bytes: token, maxBytes: maxTokenBytes), now: now)
    }

    /// Verifies an already-parsed token; `registeredClaims`, when the caller already extracted
    /// them from this token's payload (`jws.registeredClaims()`), are not parsed again.
    public func verify(_ jws: CompactJWS, registeredClaims: JSONObject? = nil, now: Double = ClaimsPolicy.now()) throws(JOSEError) -> VerifiedJWT {
        let (key, algorithm) = try jws.verifySignature(keys: keys, allowedAlgorithms: allowedAlgorithms)
        let registered: JSONObject
        if let registeredClaims { registered = registeredClaims } else { registered = try jws.registeredClaims() }
        try claimsPolicy.check(header: jws.header, claims: registered, now: now)
        return VerifiedJWT(algorithm: algorithm, keyID: key.kid, headerJSON: jws.headerJSON, payload: jws.payload,
                           expiresAt: registered["exp"]?.numberValue?.double, notBefore: registered["nbf"]?.numberValue?.double,
                           issuedAt: registered["iat"]?.numberValue?.double)
    }
}
