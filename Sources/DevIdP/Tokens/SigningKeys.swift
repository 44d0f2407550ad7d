import JOSE
import Synchronization

/// The issuer's RSA keys: one signs, all are published in the JWKS. Rotation (test admin API)
/// adds a new signing key and keeps the old public keys published unless they are retired, as a
/// real issuer does during a key rollover.
public final class SigningKeys: Sendable {
    public struct Key: Sendable {
        /// RFC 7638 thumbprint: stable for a given key file across restarts.
        public let kid: String
        public let key: PrivateKey
    }

    private struct State {
        var signing: Key
        /// Every published key, newest first (includes `signing`).
        var published: [Key]
    }

    private let state: Mutex<State>

    /// `keys[0]` signs; the others are published as verification keys only.
    public init(keys: [PrivateKey]) throws(JOSEError) {
        guard !keys.isEmpty else { throw JOSEError(.invalidKey, "no signing key") }
        var entries: [Key] = []
        for key in keys {
            // (PrivateKey already refuses RSA keys under 2048 bits.)
            guard key.publicKey.kind == .rsa else {
                throw JOSEError(.invalidKey, "the dev issuer signs RS256 and needs RSA keys, not \(key.publicKey.kind)")
            }
            let entry = Key(kid: Self.thumbprint(key), key: key)
            if !entries.contains(where: { $0.kid == entry.kid }) { entries.append(entry) }
        }
        state = Mutex(State(signing: entries[0], published: entries))
    }

    /// A fresh RSA 2048 key.
    public convenience init() throws(JOSEError) {
        try self.init(keys: [try PrivateKey.generate(.rsa(bits: 2048))])
    }

    public var signing: Key { state.withLock { $0.signing } }
    public var publishedKeyIDs: [String] { state.withLock { $0.published.map(\.kid) } }

    /// Generates a new signing key; the previous public keys stay published unless `retire`.
    public func rotate(retire: Bool) throws(JOSEError) -> (current: String, previous: String, published: [String]) {
        let key = try PrivateKey.generate(.rsa(bits: 2048))
        let entry = Key(kid: Self.thumbprint(key), key: key)
        return state.withLock { state in
            let previous = state.signing.kid
            state.signing = entry
            state.published = retire ? [entry] : [entry] + state.published
            return (entry.kid, previous, state.published.map(\.kid))
        }
    }

    /// `{"keys": [...]}` with the members Keycloak publishes for an RS256 key.
    public func jwks() -> JSONValue {
        let keys = state.withLock { $0.published }
        return .object(["keys": .array(keys.map { entry in
            let jwk = entry.key.publicKey.jwk()
            return .object(["kid": .string(entry.kid), "kty": "RSA", "alg": "RS256", "use": "sig",
                            "n": jwk["n"] ?? .null, "e": jwk["e"] ?? .null])
        })])
    }

    /// RFC 7638: SHA-256 of `{"e":...,"kty":"RSA","n":...}`, base64url.
    static func thumbprint(_ key: PrivateKey) -> String {
        let jwk = key.publicKey.jwk()
        let canonical: JSONValue = .object(["e": jwk["e"] ?? .null, "kty": "RSA", "n": jwk["n"] ?? .null])
        let digest = SHA256Digest(of: canonical.serialized())
        return Base64URL.encode(withUnsafeBytes(of: digest.words) { Array($0) })
    }
}
