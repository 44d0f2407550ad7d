import COpenSSL

/// Produces compact JWS tokens: for the dev issuer, the CLI and tests.
public enum JWTSigner {
    /// Signs `payload` bytes. The header gets `alg`, `kid` (when given) and `typ` (when given),
    /// plus `extraHeader` members.
    public static func sign(payload: [UInt8], key: PrivateKey, algorithm: JWSAlgorithm, kid: String? = nil,
                            type: String? = "JWT", extraHeader: JSONObject = JSONObject()) throws(JOSEError) -> String {
        guard algorithm.keyKind == key.publicKey.kind else {
            throw JOSEError(.signingFailed, "a \(key.publicKey.kind) key cannot sign \(algorithm.rawValue)")
        }
        var header = JSONObject()
        header["alg"] = .string(algorithm.rawValue)
        if let type { header["typ"] = .string(type) }
        if let kid { header["kid"] = .string(kid) }
        for member in extraHeader { header[member.key] = member.value }
        let signingInput = Base64URL.encode(Array(JSONValue.object(header).serialized().utf8)) + "." + Base64URL.encode(payload)
        let signature = try sign(Array(signingInput.utf8), key: key, algorithm: algorithm)
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// Signs a claims object as a JWT.
    public static func sign(claims: JSONObject, key: PrivateKey, algorithm: JWSAlgorithm, kid: String? = nil,
                            type: String? = "JWT", extraHeader: JSONObject = JSONObject()) throws(JOSEError) -> String {
        try sign(payload: Array(JSONValue.object(claims).serialized().utf8), key: key, algorithm: algorithm,
                 kid: kid, type: type, extraHeader: extraHeader)
    }

    /// The JOSE-encoded signature of `data` (raw `R || S` for ECDSA).
    public static func sign(_ data: [UInt8], key: PrivateKey, algorithm: JWSAlgorithm) throws(JOSEError) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: 2048)
        var length = signature.count
        let ok = data.withUnsafeBufferPointer { input in
            portcullis_digest_sign(key.pkey, algorithm.digest, algorithm.isPSS ? 1 : 0,
                                   input.baseAddress, input.count, &signature, &length)
        }
        guard ok == 1 else { throw JOSEError(.signingFailed, "OpenSSL could not sign with \(algorithm.rawValue)") }
        signature.removeSubrange(length...)
        if case .ec(let curve) = key.publicKey.kind {
            guard let raw = ECDSASignature.raw(fromDER: signature, curve: curve) else {
                throw JOSEError(.signingFailed, "OpenSSL returned an unreadable ECDSA signature")
            }
            return raw
        }
        return signature
    }
}
