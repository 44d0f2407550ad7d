import COpenSSL

extension PublicKey {
    /// Checks a JWS signature (in its JOSE encoding) over the signing input
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`.
    ///
    /// Throws `key_mismatch` when this key cannot verify `algorithm` and `bad_signature` when
    /// the signature has the wrong length or range or does not verify.
    public func verify(signature: [UInt8], over signingInput: UnsafeRawBufferPointer, algorithm: JWSAlgorithm) throws(JOSEError) {
        guard algorithm.keyKind == kind else {
            throw JOSEError(.keyMismatch, "a \(kind) key cannot verify \(algorithm.rawValue)")
        }
        let encoded: [UInt8]
        switch kind {
        case .rsa:
            // RFC 8017 §8.2.2: the signature is exactly as long as the modulus.
            guard signature.count == (bits + 7) / 8 else {
                throw JOSEError(.badSignature, "RSA signature is \(signature.count) bytes; the key needs \((bits + 7) / 8)")
            }
            encoded = signature
        case .ec(let curve):
            guard let der = ECDSASignature.der(fromRaw: signature, curve: curve) else {
                throw JOSEError(.badSignature, "\(algorithm.rawValue) signature must be \(2 * curve.coordinateSize) bytes of R || S with 0 < R, S < n")
            }
            encoded = der
        case .ed25519:
            guard signature.count == 64 else {
                throw JOSEError(.badSignature, "Ed25519 signature must be 64 bytes (got \(signature.count))")
            }
            encoded = signature
        }
        let data = signingInput.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let result = encoded.withUnsafeBufferPointer { sig in
            if let template = verificationTemplate(for: algorithm), let digest = algorithm.digest {
                return portcullis_verify_prehashed(template, digest, sig.baseAddress, sig.count, data, signingInput.count)
            }
            return portcullis_digest_verify(pkey, algorithm.digest, algorithm.isPSS ? 1 : 0,
                                            sig.baseAddress, sig.count, data, signingInput.count)
        }
        guard result == 1 else {
            throw JOSEError(.badSignature, "the \(algorithm.rawValue) signature does not verify")
        }
    }
}
