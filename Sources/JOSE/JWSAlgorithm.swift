import COpenSSL

/// The asymmetric JWS algorithms Portcullis verifies (RFC 7518 §3, RFC 8037, RFC 9864).
///
/// There is deliberately no case for `none` or any `HS*` algorithm: a gateway that only holds
/// public keys has no business accepting MACs, and their absence closes RS/HS key confusion.
public enum JWSAlgorithm: String, CaseIterable, Hashable, Sendable, Comparable {
    case rs256 = "RS256", rs384 = "RS384", rs512 = "RS512"
    case ps256 = "PS256", ps384 = "PS384", ps512 = "PS512"
    case es256 = "ES256", es384 = "ES384", es512 = "ES512"
    /// EdDSA as RFC 8037 names it; only with Ed25519 keys here.
    case eddsa = "EdDSA"
    /// The fully-specified name of EdDSA with Ed25519 (RFC 9864).
    case ed25519 = "Ed25519"

    public static func < (lhs: JWSAlgorithm, rhs: JWSAlgorithm) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Every algorithm above: the default allow-list.
    public static let allAsymmetric = Set(allCases)

    /// Maps a header `alg` to an algorithm, or explains why it is refused.
    public static func named(_ name: String) throws(JOSEError) -> JWSAlgorithm {
        if let algorithm = JWSAlgorithm(rawValue: name) { return algorithm }
        let lowered = name.lowercased()
        if lowered == "none" {
            throw JOSEError(.unsupportedAlg, "alg \"\(name)\" (unsigned tokens) is never accepted")
        }
        if lowered.hasPrefix("hs") {
            throw JOSEError(.unsupportedAlg, "alg \"\(name)\" (symmetric MAC) is never accepted: only asymmetric signatures are")
        }
        throw JOSEError(.unsupportedAlg, "alg \"\(name)\" is not supported")
    }

    /// The key family an algorithm needs.
    public var keyKind: KeyKind {
        switch self {
        case .rs256, .rs384, .rs512, .ps256, .ps384, .ps512: .rsa
        case .es256: .ec(.p256)
        case .es384: .ec(.p384)
        case .es512: .ec(.p521)
        case .eddsa, .ed25519: .ed25519
        }
    }

    /// A stable small index (position in `allCases`).
    var slot: Int32 {
        switch self {
        case .rs256: 0
        case .rs384: 1
        case .rs512: 2
        case .ps256: 3
        case .ps384: 4
        case .ps512: 5
        case .es256: 6
        case .es384: 7
        case .es512: 8
        case .eddsa: 9
        case .ed25519: 10
        }
    }

    var isPSS: Bool { self == .ps256 || self == .ps384 || self == .ps512 }

    /// The message digest, or nil for EdDSA (which hashes internally).
    var digest: OpaquePointer? {
        switch self {
        case .rs256, .ps256, .es256: Digests.sha256
        case .rs384, .ps384, .es384: Digests.sha384
        case .rs512, .ps512, .es512: Digests.sha512
        case .eddsa, .ed25519: nil
        }
    }

    /// Whether a key whose JWK says `alg: keyAlgorithm` may verify a token with this `alg`.
    /// EdDSA and Ed25519 name the same algorithm for an Ed25519 key (RFC 9864 §2.2).
    func matchesKeyAlgorithm(_ keyAlgorithm: String) -> Bool {
        if keyAlgorithm == rawValue { return true }
        if keyKind == .ed25519 { return keyAlgorithm == "EdDSA" || keyAlgorithm == "Ed25519" }
        return false
    }
}

/// Digests fetched once: an explicit fetch avoids OpenSSL 3's implicit per-call fetch.
enum Digests {
    nonisolated(unsafe) static let sha256 = EVP_MD_fetch(nil, "SHA256", nil)
    nonisolated(unsafe) static let sha384 = EVP_MD_fetch(nil, "SHA384", nil)
    nonisolated(unsafe) static let sha512 = EVP_MD_fetch(nil, "SHA512", nil)
}

/// Key families and curves.
public enum KeyKind: Hashable, Sendable, CustomStringConvertible {
    case rsa
    case ec(Curve)
    case ed25519

    public enum Curve: String, Hashable, Sendable, CaseIterable {
        case p256 = "P-256", p384 = "P-384", p521 = "P-521"

        /// Bytes in one coordinate, and in each of R and S of a JOSE signature.
        public var coordinateSize: Int {
            switch self {
            case .p256: 32
            case .p384: 48
            case .p521: 66
            }
        }

        /// The group order n, big-endian, `coordinateSize` bytes.
        var order: [UInt8] {
            switch self {
            case .p256: Curve.hex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551")
            case .p384: Curve.hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973")
            case .p521: Curve.hex("01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409")
            }
        }

        var index: Int32 {
            switch self {
            case .p256: 0
            case .p384: 1
            case .p521: 2
            }
        }

        /// OpenSSL's group name.
        var groupName: StaticString {
            switch self {
            case .p256: "prime256v1"
            case .p384: "secp384r1"
            case .p521: "secp521r1"
            }
        }

        private static func hex(_ text: String) -> [UInt8] {
            var bytes: [UInt8] = []
            var iterator = text.utf8.makeIterator()
            while let high = iterator.next(), let low = iterator.next() {
                bytes.append(UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)!)
            }
            return bytes
        }
    }

    public var description: String {
        switch self {
        case .rsa: "RSA"
        case .ec(let curve): "EC \(curve.rawValue)"
        case .ed25519: "OKP Ed25519"
        }
    }
}
