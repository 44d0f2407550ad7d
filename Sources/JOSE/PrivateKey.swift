import COpenSSL

/// A private signing key (RSA, EC P-256/384/521 or Ed25519) for the dev issuer and tests.
public final class PrivateKey: @unchecked Sendable {
    let pkey: OpaquePointer
    /// The matching public key (shares the EVP_PKEY, which holds both halves).
    public let publicKey: PublicKey

    private init(owning pkey: OpaquePointer) throws(JOSEError) {
        self.pkey = pkey
        guard EVP_PKEY_up_ref(pkey) == 1 else {
            EVP_PKEY_free(pkey)
            throw JOSEError(.invalidKey, "OpenSSL could not reference the key")
        }
        do throws(JOSEError) {
            self.publicKey = try PublicKey.wrap(pkey)
        } catch {
            EVP_PKEY_free(pkey)
            throw error
        }
    }

    deinit { EVP_PKEY_free(pkey) }

    public enum Kind: Sendable {
        case rsa(bits: Int)
        case ec(KeyKind.Curve)
        case ed25519
    }

    /// A fresh key pair.
    public static func generate(_ kind: Kind) throws(JOSEError) -> PrivateKey {
        let pkey: OpaquePointer?
        switch kind {
        case .rsa(let bits): pkey = portcullis_generate_key("RSA", bits, nil)
        case .ec(let curve): pkey = portcullis_generate_key("EC", 0, curve.rawValue)
        case .ed25519: pkey = portcullis_generate_key("ED25519", 0, nil)
        }
        guard let pkey else { throw JOSEError(.invalidKey, "key generation failed") }
        return try PrivateKey(owning: pkey)
    }

    /// A private key from PEM (PKCS#8 `PRIVATE KEY`, or traditional `RSA PRIVATE KEY` /
    /// `EC PRIVATE KEY`), unencrypted.
    public static func pem(_ text: String) throws(JOSEError) -> PrivateKey {
        let bytes = Array(text.utf8)
        guard let pkey = portcullis_read_pem(bytes, Int32(bytes.count), 0) else {
            throw JOSEError(.invalidKey, "not an unencrypted PEM private key")
        }
        return try PrivateKey(owning: pkey)
    }

    /// A private key from a JWK with its private members (`d`, and for RSA `p`, `q`, `dp`, `dq`, `qi`).
    public static func jwk(_ object: JSONObject) throws(JOSEError) -> PrivateKey {
        func member(_ name: String) throws(JOSEError) -> [UInt8] {
            guard let text = object[name]?.stringValue, let bytes = Base64URL.decode(text) else {
                throw JOSEError(.invalidKey, "private JWK member \"\(name)\" is missing or not base64url")
            }
            return bytes
        }
        let pkey: OpaquePointer?
        switch object["kty"]?.stringValue {
        case "RSA":
            pkey = KeyBuilder.build(type: "RSA", selection: PORTCULLIS_SELECT_KEYPAIR, bignums: [
                ("n", try member("n")), ("e", try member("e")), ("d", try member("d")),
                ("rsa-factor1", try member("p")), ("rsa-factor2", try member("q")),
                ("rsa-exponent1", try member("dp")), ("rsa-exponent2", try member("dq")),
                ("rsa-coefficient1", try member("qi")),
            ])
        case "EC":
            guard let curve = KeyKind.Curve(rawValue: object["crv"]?.stringValue ?? "") else {
                throw JOSEError(.invalidKey, "EC curve must be P-256, P-384 or P-521")
            }
            let x = try member("x"), y = try member("y")
            guard x.count == curve.coordinateSize, y.count == curve.coordinateSize else {
                throw JOSEError(.invalidKey, "\(curve.rawValue) coordinates must be \(curve.coordinateSize) bytes each")
            }
            pkey = KeyBuilder.build(type: "EC", selection: PORTCULLIS_SELECT_KEYPAIR, bignums: [("priv", try member("d"))],
                                    utf8: ("group", curve.groupName), octets: ("pub", [0x04] + x + y))
        case "OKP":
            guard object["crv"]?.stringValue == "Ed25519" else { throw JOSEError(.invalidKey, "OKP curve must be Ed25519") }
            let d = try member("d")
            guard d.count == 32 else { throw JOSEError(.invalidKey, "Ed25519 private key must be 32 bytes") }
            pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, d, 32)
        default:
            throw JOSEError(.invalidKey, "private JWK kty must be RSA, EC or OKP")
        }
        guard let pkey else {
            ERR_clear_error()
            throw JOSEError(.invalidKey, "OpenSSL refused the private JWK")
        }
        let key = try PrivateKey(owning: pkey)
        guard portcullis_pairwise_check(pkey) == 1 else {
            throw JOSEError(.invalidKey, "the private JWK's private and public members do not belong together")
        }
        // The public members must describe this very key, or verifiers would be handed a lie.
        for name in ["n", "e", "x", "y"] where object[name] != nil {
            guard key.publicKey.jwk()[name] == object[name] else {
                throw JOSEError(.invalidKey, "private JWK member \"\(name)\" does not match the private key")
            }
        }
        return key
    }

    /// The key as PEM (PKCS#8, unencrypted).
    public func pem() -> String { KeyBuilder.pem(pkey, isPublic: false) }

    /// The algorithms this key can sign with.
    public var algorithms: [JWSAlgorithm] {
        JWSAlgorithm.allCases.filter { $0.keyKind == publicKey.kind && $0 != .ed25519 }
    }
}
