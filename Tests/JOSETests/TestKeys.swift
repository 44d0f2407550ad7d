import COpenSSL
import Foundation
@testable import JOSE

/// Keys generated once per test process (RSA generation is slow).
enum TestKeys {
    static let rsa = try! PrivateKey.generate(.rsa(bits: 2048))
    static let rsaOther = try! PrivateKey.generate(.rsa(bits: 2048))
    static let p256 = try! PrivateKey.generate(.ec(.p256))
    static let p384 = try! PrivateKey.generate(.ec(.p384))
    static let p521 = try! PrivateKey.generate(.ec(.p521))
    static let ed25519 = try! PrivateKey.generate(.ed25519)

    static func key(for algorithm: JWSAlgorithm) -> PrivateKey {
        switch algorithm.keyKind {
        case .rsa: rsa
        case .ec(.p256): p256
        case .ec(.p384): p384
        case .ec(.p521): p521
        case .ed25519: ed25519
        }
    }

    static func jwk(_ key: PrivateKey, kid: String?, alg: String? = nil, extra: [String: JSONValue] = [:]) -> JSONObject {
        var object = key.publicKey.jwk()
        if let kid { object["kid"] = .string(kid) }
        if let alg { object["alg"] = .string(alg) }
        for (name, value) in extra { object[name] = value }
        return object
    }

    static func jwks(_ objects: [JSONObject]) -> JWKS {
        try! JWKS.parse(json: JSONValue.object(JSONObject(["keys": .array(objects.map { .object($0) })])).serialized())
    }

    /// The standard key set for most tests: one RSA key "rsa-1" and one P-256 key "ec-1".
    static let standardSet = jwks([jwk(rsa, kid: "rsa-1"), jwk(p256, kid: "ec-1"), jwk(ed25519, kid: "ed-1")])

    static let now: Double = 1_800_000_000
}

/// Builds tokens byte by byte, including malformed and hostile ones.
enum TokenForge {
    static func b64(_ text: String) -> String { Base64URL.encode(Array(text.utf8)) }

    /// A token with exactly this header and payload JSON text, signed with `key`.
    static func token(header: String, payload: String, key: PrivateKey, algorithm: JWSAlgorithm) -> String {
        let input = b64(header) + "." + b64(payload)
        let signature = try! JWTSigner.sign(Array(input.utf8), key: key, algorithm: algorithm)
        return input + "." + Base64URL.encode(signature)
    }

    static func claims(_ extra: [String: JSONValue] = [:], removing: [String] = []) -> String {
        var object = JSONObject([
            "iss": "https://issuer.test", "sub": "user-1", "aud": "api",
            "iat": .number(JSONNumber(Int(TestKeys.now) - 10)), "exp": .number(JSONNumber(Int(TestKeys.now) + 300)),
        ])
        for (name, value) in extra { object[name] = value }
        for name in removing { object[name] = nil }
        return JSONValue.object(object).serialized()
    }

    /// A well-formed RS256 token from TestKeys.rsa with kid "rsa-1".
    static func valid(_ extra: [String: JSONValue] = [:], removing: [String] = [], kid: String = "rsa-1",
                      algorithm: JWSAlgorithm = .rs256, key: PrivateKey = TestKeys.rsa) -> String {
        token(header: #"{"alg":"\#(algorithm.rawValue)","typ":"JWT","kid":"\#(kid)"}"#,
              payload: claims(extra, removing: removing), key: key, algorithm: algorithm)
    }

    static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length = 0
        _ = EVP_Q_mac(nil, "HMAC", nil, "SHA256", nil, key, key.count, data, data.count, &out, 32, &length)
        return out
    }
}

let standardPolicy = ClaimsPolicy(issuer: "https://issuer.test", audiences: .oneOf(["api"]))

func verify(_ token: String, keys: JWKS = TestKeys.standardSet, policy: ClaimsPolicy = standardPolicy,
            algorithms: Set<JWSAlgorithm> = JWSAlgorithm.allAsymmetric, now: Double = TestKeys.now) -> Result<VerifiedJWT, JOSEError> {
    let verifier = JWTVerifier(keys: keys, allowedAlgorithms: algorithms, claims: policy)
    return Result { () throws(JOSEError) -> VerifiedJWT in try verifier.verify(token, now: now) }
}

func errorCode(_ result: Result<VerifiedJWT, JOSEError>) -> String {
    switch result {
    case .success: "valid"
    case .failure(let error): error.code.rawValue
    }
}
