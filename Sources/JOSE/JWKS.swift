/// A JSON Web Key Set (RFC 7517 §5): the usable verification keys, plus what was left out
/// and why (so a token naming a refused key gets that key's error, e.g. `weak_key`).
public struct JWKS: Sendable {
    public struct LeftOut: Sendable {
        public let kid: String?
        public let reason: String
        /// Set when the key was refused (as opposed to skipped as irrelevant).
        public let error: JOSEError?

        public init(kid: String?, reason: String, error: JOSEError?) {
            self.kid = kid
            self.reason = reason
            self.error = error
        }
    }

    public let keys: [JWK]
    public let leftOut: [LeftOut]

    public init(keys: [JWK], leftOut: [LeftOut] = []) {
        self.keys = keys
        self.leftOut = leftOut
    }

    /// Parses `{"keys": [...]}`. Only a document that is not a JSON object with a `keys` array
    /// is an error; individual keys of unknown type or with bad material are left out.
    public static func parse(json: String) throws(JOSEError) -> JWKS {
        var json = json
        return try json.withUTF8Bytes { (buffer) throws(JOSEError) -> JWKS in try parse(buffer) }
    }

    /// Parses `{"keys": [...]}` from bytes.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JOSEError) -> JWKS {
        let document: JSONValue
        do { document = try JSONParser.parse(bytes) } catch {
            throw JOSEError(.malformed, "JWKS is not valid JSON: \(error)")
        }
        guard let keyObjects = document["keys"]?.arrayValue else {
            throw JOSEError(.malformed, "JWKS must be a JSON object with a \"keys\" array")
        }
        var keys: [JWK] = []
        var leftOut: [LeftOut] = []
        for (index, element) in keyObjects.enumerated() {
            guard let object = element.objectValue else {
                leftOut.append(LeftOut(kid: nil, reason: "keys[\(index)] is not an object", error: JOSEError(.invalidKey, "not an object")))
                continue
            }
            switch JWK.parse(object) {
            case .key(let key): keys.append(key)
            case .skipped(let kid, let reason): leftOut.append(LeftOut(kid: kid, reason: reason, error: nil))
            case .rejected(let kid, let error): leftOut.append(LeftOut(kid: kid, reason: error.message, error: error))
            }
        }
        return JWKS(keys: keys, leftOut: leftOut)
    }

    /// The keys that may verify a token with this `kid` and `alg`.
    ///
    /// With a `kid`: the keys with exactly that `kid` that allow `alg` (several only if the set
    /// repeats a `kid`). Without a `kid`: the one key in the set that allows `alg`; when there
    /// are several, the token is refused rather than tried against each (RFC 7515 §4.1.4).
    /// Keys named by the token itself (`jku`, `x5u`, `jwk`, `x5c`) are never considered.
    public func candidates(kid: String?, algorithm: JWSAlgorithm) throws(JOSEError) -> [JWK] {
        guard let kid else {
            let usable = keys.filter { $0.refusal(for: algorithm) == nil }
            if usable.count == 1 { return usable }
            if usable.isEmpty {
                throw JOSEError(.unknownKid, "the token has no kid and no key in the set can verify \(algorithm.rawValue)")
            }
            throw JOSEError(.unknownKid, "the token has no kid and \(usable.count) keys could verify \(algorithm.rawValue); a kid is required")
        }
        let named = keys.filter { $0.kid == kid }
        if named.isEmpty {
            if let refused = leftOut.first(where: { $0.kid == kid && $0.error != nil }), let error = refused.error {
                throw JOSEError(error.code, "key \"\(kid)\" was refused: \(error.message)")
            }
            if let skipped = leftOut.first(where: { $0.kid == kid }) {
                throw JOSEError(.keyMismatch, "key \"\(kid)\" cannot verify signatures: \(skipped.reason)")
            }
            throw JOSEError(.unknownKid, "no key with kid \"\(kid)\" in the key set")
        }
        let usable = named.filter { $0.refusal(for: algorithm) == nil }
        if usable.isEmpty {
            throw JOSEError(.keyMismatch, "key \"\(kid)\" may not verify this token: \(named[0].refusal(for: algorithm)!)")
        }
        return usable
    }
}
