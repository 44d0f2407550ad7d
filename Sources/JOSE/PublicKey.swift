import COpenSSL

/// A public key loaded into OpenSSL once (building an EVP_PKEY costs microseconds: never
/// per request). Immutable, so one instance is shared by every thread that verifies.
public final class PublicKey: @unchecked Sendable {
    /// The owned EVP_PKEY.
    let pkey: OpaquePointer
    public let kind: KeyKind
    /// Modulus size for RSA, curve size for EC, 256 for Ed25519.
    public let bits: Int

    /// Verification contexts, built on first use per algorithm (slot = index in
    /// `JWSAlgorithm.allCases`) and duplicated per verification. Ed25519 uses none: it cannot
    /// verify a digest.
    private let templates: UnsafeMutableRawPointer?
    private static let templateSlots = Int32(JWSAlgorithm.allCases.count)

    init(owning pkey: OpaquePointer, kind: KeyKind) {
        self.pkey = pkey
        self.kind = kind
        self.bits = Int(EVP_PKEY_get_bits(pkey))
        self.templates = kind == .ed25519 ? nil : portcullis_template_cache_new(Self.templateSlots)
    }

    deinit {
        portcullis_template_cache_free(templates, Self.templateSlots)
        EVP_PKEY_free(pkey)
    }

    func verificationTemplate(for algorithm: JWSAlgorithm) -> OpaquePointer? {
        guard let templates, let digest = algorithm.digest, algorithm.keyKind == kind else { return nil }
        return portcullis_template_cache_get(templates, algorithm.slot, pkey, digest, algorithm.isPSS ? 1 : 0)
    }

    /// Smallest RSA modulus accepted (NIST SP 800-131A, RFC 7518 §3.3).
    public static let minimumRSABits = 2048
    /// Largest RSA modulus accepted (OpenSSL's own limit): bounds the cost of one verification.
    public static let maximumRSABits = 16384

    /// An RSA public key from big-endian modulus and exponent.
    public static func rsa(modulus n: [UInt8], exponent e: [UInt8]) throws(JOSEError) -> PublicKey {
        let n = Array(n.drop(while: { $0 == 0 }))
        let e = Array(e.drop(while: { $0 == 0 }))
        guard !n.isEmpty, !e.isEmpty else { throw JOSEError(.invalidKey, "RSA key has an empty modulus or exponent") }
        // Exponent 1 would make every signature trivially forgeable; even exponents are not RSA.
        guard e.last! & 1 == 1, e.count > 1 || e[0] >= 3, e.count <= 8 else {
            throw JOSEError(.invalidKey, "RSA public exponent must be odd, at least 3 and at most 64 bits")
        }
        let bits = (n.count - 1) * 8 + (8 - n[0].leadingZeroBitCount)
        if bits < minimumRSABits {
            throw JOSEError(.weakKey, "RSA modulus has \(bits) bits; at least \(minimumRSABits) are required")
        }
        if bits > maximumRSABits {
            throw JOSEError(.invalidKey, "RSA modulus has \(bits) bits; at most \(maximumRSABits) are accepted")
        }
        guard let pkey = portcullis_rsa_public_key(n, n.count, e, e.count) else {
            throw JOSEError(.invalidKey, "OpenSSL refused the RSA key")
        }
        return PublicKey(owning: pkey, kind: .rsa)
    }

    /// An EC public key from its affine coordinates, each exactly the curve's coordinate size;
    /// the point must lie on the curve.
    public static func ec(curve: KeyKind.Curve, x: [UInt8], y: [UInt8]) throws(JOSEError) -> PublicKey {
        let size = curve.coordinateSize
        guard x.count == size, y.count == size else {
            throw JOSEError(.invalidKey, "\(curve.rawValue) coordinates must be \(size) bytes each (got \(x.count) and \(y.count))")
        }
        let point = [0x04] + x + y
        guard let pkey = portcullis_ec_public_key(curve.index, KeyBuilder.cString(curve.groupName), point, point.count) else {
            throw JOSEError(.invalidKey, "the point is not on curve \(curve.rawValue)")
        }
        return PublicKey(owning: pkey, kind: .ec(curve))
    }

    /// An Ed25519 public key from its 32 raw bytes.
    public static func ed25519(_ x: [UInt8]) throws(JOSEError) -> PublicKey {
        guard x.count == 32 else { throw JOSEError(.invalidKey, "Ed25519 public key must be 32 bytes (got \(x.count))") }
        guard let pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, x, 32) else {
            ERR_clear_error()
            throw JOSEError(.invalidKey, "OpenSSL refused the Ed25519 key")
        }
        return PublicKey(owning: pkey, kind: .ed25519)
    }

    /// A public key from a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) block, with the same
    /// strength checks as a JWK.
    public static func pem(_ text: String) throws(JOSEError) -> PublicKey {
        let bytes = Array(text.utf8)
        guard let pkey = portcullis_read_pem(bytes, Int32(bytes.count), 1) else {
            throw JOSEError(.invalidKey, "not a PEM public key")
        }
        return try wrap(pkey)
    }

    /// Wraps an owned EVP_PKEY after checking its type and strength; frees it on error.
    static func wrap(_ pkey: OpaquePointer) throws(JOSEError) -> PublicKey {
        switch EVP_PKEY_get_base_id(pkey) {
        case EVP_PKEY_RSA:
            let bits = Int(EVP_PKEY_get_bits(pkey))
            guard bits >= minimumRSABits else {
                EVP_PKEY_free(pkey)
                throw JOSEError(.weakKey, "RSA modulus has \(bits) bits; at least \(minimumRSABits) are required")
            }
            return PublicKey(owning: pkey, kind: .rsa)
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            let ok = EVP_PKEY_get_utf8_string_param(pkey, "group", &name, name.count, &length)
            let group = ok == 1 ? String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
            guard let curve = KeyKind.Curve.allCases.first(where: { "\($0.groupName)" == group }) else {
                EVP_PKEY_free(pkey)
                throw JOSEError(.invalidKey, "EC curve \"\(group)\" is not supported")
            }
            return PublicKey(owning: pkey, kind: .ec(curve))
        case EVP_PKEY_ED25519:
            return PublicKey(owning: pkey, kind: .ed25519)
        default:
            EVP_PKEY_free(pkey)
            throw JOSEError(.invalidKey, "unsupported key type")
        }
    }

    /// The public key as a JWK (members `kty`, `crv`, `n`/`e` or `x`/`y`).
    public func jwk() -> JSONObject {
        var object = JSONObject()
        switch kind {
        case .rsa:
            object["kty"] = "RSA"
            object["n"] = .string(Base64URL.encode(KeyBuilder.bignum(pkey, "n", length: 0)))
            object["e"] = .string(Base64URL.encode(KeyBuilder.bignum(pkey, "e", length: 0)))
        case .ec(let curve):
            object["kty"] = "EC"
            object["crv"] = .string(curve.rawValue)
            object["x"] = .string(Base64URL.encode(KeyBuilder.bignum(pkey, "qx", length: curve.coordinateSize)))
            object["y"] = .string(Base64URL.encode(KeyBuilder.bignum(pkey, "qy", length: curve.coordinateSize)))
        case .ed25519:
            var raw = [UInt8](repeating: 0, count: 32)
            var length = 32
            EVP_PKEY_get_raw_public_key(pkey, &raw, &length)
            object["kty"] = "OKP"
            object["crv"] = "Ed25519"
            object["x"] = .string(Base64URL.encode(raw.prefix(length)))
        }
        return object
    }

    /// The public key as a PEM `PUBLIC KEY` block.
    public func pem() -> String { KeyBuilder.pem(pkey, isPublic: true) }

    /// Whether this key can verify `algorithm` (family and curve).
    public func supports(_ algorithm: JWSAlgorithm) -> Bool { algorithm.keyKind == kind }
}

/// Glue for the C helpers in COpenSSL.
enum KeyBuilder {
    static func build(type: StaticString, selection: Int32, bignums: [(StaticString, [UInt8])],
                      utf8: (StaticString, StaticString)? = nil,
                      octets: (StaticString, [UInt8])? = nil) -> OpaquePointer? {
        // StaticString storage is static: the pointers outlive the call, as OSSL_PARAM_BLD needs.
        let names: [UnsafePointer<CChar>?] = bignums.map { UnsafeRawPointer($0.0.utf8Start).assumingMemoryBound(to: CChar.self) }
        let lengths = bignums.map { $0.1.count }
        return withArrayOfPointers(bignums.map(\.1)) { values in
            let octetBytes = octets?.1 ?? []
            return octetBytes.withUnsafeBufferPointer { octetBuffer in
                portcullis_pkey_fromdata(
                    cString(type), Int32(selection),
                    names, values, lengths, Int32(bignums.count),
                    utf8.map { cString($0.0) }, utf8.map { cString($0.1) },
                    octets.map { cString($0.0) }, octetBuffer.baseAddress, octetBytes.count)
            }
        }
    }

    static func cString(_ s: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    /// Calls `body` with C pointers to each array's bytes, all alive for the call.
    private static func withArrayOfPointers<R>(_ arrays: [[UInt8]], _ body: ([UnsafePointer<UInt8>?]) -> R) -> R {
        let total = arrays.reduce(0) { $0 + $1.count }
        let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: max(total, 1))
        defer {
            storage.update(repeating: 0, count: max(total, 1))  // private key material
            storage.deallocate()
        }
        var pointers: [UnsafePointer<UInt8>?] = []
        var offset = 0
        for array in arrays {
            (storage + offset).initialize(from: array, count: array.count)
            pointers.append(UnsafePointer(storage + offset))
            offset += array.count
        }
        return body(pointers)
    }

    static func bignum(_ pkey: OpaquePointer, _ name: String, length: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 2048)
        let written = portcullis_get_bn_param(pkey, name, &out, Int32(out.count), Int32(length))
        return written > 0 ? Array(out.prefix(Int(written))) : []
    }

    static func pem(_ pkey: OpaquePointer, isPublic: Bool) -> String {
        let needed = portcullis_write_pem(pkey, isPublic ? 1 : 0, nil, 0)
        guard needed > 0 else { return "" }
        var buffer = [CChar](repeating: 0, count: needed)
        _ = portcullis_write_pem(pkey, isPublic ? 1 : 0, &buffer, needed)
        return String(decoding: buffer.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
