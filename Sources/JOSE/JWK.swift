/// One verification key from a JWK (RFC 7517), with the members that restrict its use.
public struct JWK: Sendable {
    public let kid: String?
    /// `use`, if present (only `sig` keys are ever loaded).
    public let use: String?
    /// `key_ops`, if present (only sets containing `verify` are ever loaded).
    public let keyOperations: [String]?
    /// `alg`, if present: the key then verifies only tokens with exactly this `alg`.
    public let algorithm: String?
    public let key: PublicKey

    public init(kid: String?, key: PublicKey, algorithm: String? = nil, use: String? = nil, keyOperations: [String]? = nil) {
        self.kid = kid
        self.key = key
        self.algorithm = algorithm
        self.use = use
        self.keyOperations = keyOperations
    }

    /// What parsing one JWK object gave.
    public enum ParseOutcome: Sendable {
        case key(JWK)
        /// A type this gateway does not verify with (`oct`, X25519, unknown `kty`, `use: enc`, ...):
        /// left out of the set without making the set invalid.
        case skipped(kid: String?, reason: String)
        /// A key of a supported type that cannot be used (weak, malformed, off the curve).
        case rejected(kid: String?, error: JOSEError)
    }

    /// Parses a JWK object. Private members (`d`, ...) are ignored: only the public key is kept.
    public static func parse(_ object: JSONObject) -> ParseOutcome {
        let kid = object["kid"]?.stringValue
        do throws(JOSEError) {
            if let member = object["kid"], member.stringValue == nil {
                throw JOSEError(.invalidKey, "\"kid\" must be a string")
            }
            guard let kty = object["kty"]?.stringValue else {
                throw JOSEError(.invalidKey, "\"kty\" is missing or not a string")
            }
            let use = try optionalString(object, "use")
            if let use, use != "sig" {
                return .skipped(kid: kid, reason: "use is \"\(use)\", not \"sig\"")
            }
            var keyOperations: [String]? = nil
            if let ops = object["key_ops"] {
                guard let array = ops.arrayValue, let strings = Optional(array.compactMap(\.stringValue)), strings.count == array.count else {
                    throw JOSEError(.invalidKey, "\"key_ops\" must be an array of strings")
                }
                guard strings.contains("verify") else {
                    return .skipped(kid: kid, reason: "key_ops \(strings) does not contain \"verify\"")
                }
                keyOperations = strings
            }
            let algorithm = try optionalString(object, "alg")
            let key: PublicKey
            switch kty {
            case "RSA":
                if object["oth"] != nil { throw JOSEError(.invalidKey, "multi-prime RSA keys (\"oth\") are not supported") }
                key = try PublicKey.rsa(modulus: try bytes(object, "n"), exponent: try bytes(object, "e"))
            case "EC":
                let crv = try optionalString(object, "crv") ?? ""
                guard let curve = KeyKind.Curve(rawValue: crv) else {
                    return .skipped(kid: kid, reason: "EC curve \"\(crv)\" is not supported")
                }
                key = try PublicKey.ec(curve: curve, x: try bytes(object, "x"), y: try bytes(object, "y"))
            case "OKP":
                let crv = try optionalString(object, "crv") ?? ""
                guard crv == "Ed25519" else {
                    return .skipped(kid: kid, reason: "OKP curve \"\(crv)\" is not supported")
                }
                key = try PublicKey.ed25519(try bytes(object, "x"))
            case "oct":
                return .skipped(kid: kid, reason: "symmetric keys are never used")
            default:
                return .skipped(kid: kid, reason: "key type \"\(kty)\" is not supported")
            }
            if let algorithm, !JWSAlgorithm.allCases.contains(where: { $0.keyKind == key.kind && $0.matchesKeyAlgorithm(algorithm) }) {
                return .skipped(kid: kid, reason: "alg \"\(algorithm)\" is not a supported signature algorithm for a \(key.kind) key")
            }
            return .key(JWK(kid: kid, key: key, algorithm: algorithm, use: use, keyOperations: keyOperations))
        } catch {
            return .rejected(kid: kid, error: error)
        }
    }

    /// Parses one JWK from JSON text; a skipped or rejected key is an error here.
    public static func parse(json: String) throws(JOSEError) -> JWK {
        let value: JSONValue
        do { value = try JSONParser.parse(json) } catch { throw JOSEError(.invalidKey, "JWK is not valid JSON: \(error)") }
        guard let object = value.objectValue else { throw JOSEError(.invalidKey, "JWK must be a JSON object") }
        switch parse(object) {
        case .key(let key): return key
        case .skipped(_, let reason): throw JOSEError(.invalidKey, reason)
        case .rejected(_, let error): throw error
        }
    }

    /// Why this key may not verify a token with `algorithm`, or nil if it may.
    public func refusal(for algorithm: JWSAlgorithm) -> String? {
        guard key.supports(algorithm) else { return "a \(key.kind) key cannot verify \(algorithm.rawValue)" }
        if let keyAlgorithm = self.algorithm, !algorithm.matchesKeyAlgorithm(keyAlgorithm) {
            return "the key is for alg \(keyAlgorithm), the token says \(algorithm.rawValue)"
        }
        return nil
    }

    private static func optionalString(_ object: JSONObject, _ name: String) throws(JOSEError) -> String? {
        guard let member = object[name] else { return nil }
        guard let string = member.stringValue else { throw JOSEError(.invalidKey, "\"\(name)\" must be a string") }
        return string
    }

    private static func bytes(_ object: JSONObject, _ name: String) throws(JOSEError) -> [UInt8] {
        guard let text = object[name]?.stringValue else {
            throw JOSEError(.invalidKey, "\"\(name)\" is missing or not a string")
        }
        guard let bytes = Base64URL.decode(text) else {
            throw JOSEError(.invalidKey, "\"\(name)\" is not base64url")
        }
        return bytes
    }
}
