import Foundation
import Testing
@testable import JOSE

/// Published examples: RFC 7515 A.2/A.3, RFC 8037 A.4, RFC 7520 §4.1–4.3 (exact values in
/// Fixtures/rfc-vectors.json, cross-checked by Fixtures/verify_vectors.py).
struct RFCVectorTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let alg: String
        let jwk: JSONObject
        let token: String
        let payloadText: String
        var testDescription: String { name }
    }

    static let vectors: [Vector] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/rfc-vectors.json")
        let document = try! JSONParser.parse(String(contentsOf: url, encoding: .utf8))
        return document["vectors"]!.arrayValue!.map { entry in
            Vector(name: entry["name"]!.stringValue!, alg: entry["alg"]!.stringValue!, jwk: entry["jwk"]!.objectValue!,
                   token: entry["token"]!.stringValue!, payloadText: entry["payload_text"]!.stringValue!)
        }
    }()

    static func keySet(_ vector: Vector) throws -> JWKS {
        let jwks = try JWKS.parse(json: JSONValue.object(JSONObject(["keys": [.object(vector.jwk)]])).serialized())
        #expect(jwks.keys.count == 1, "the published key loads")
        return jwks
    }

    @Test(arguments: vectors)
    func publishedExampleVerifies(_ vector: Vector) throws {
        let jws = try CompactJWS(vector.token)
        #expect(jws.algorithmName == vector.alg)
        #expect(String(decoding: jws.payload, as: UTF8.self) == vector.payloadText)
        let key = try jws.verifySignature(keys: try Self.keySet(vector)).key
        #expect(key.kid == vector.jwk["kid"]?.stringValue)
    }

    /// Changing any one byte of the token (header, payload or signature) must make it fail.
    @Test(arguments: vectors)
    func everySingleByteChangeFails(_ vector: Vector) throws {
        let keys = try Self.keySet(vector)
        let bytes = Array(vector.token.utf8)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        // Every position of the header and payload, and a spread of signature positions.
        let lastDot = bytes.lastIndex(of: UInt8(ascii: "."))!
        let positions = Array(0..<lastDot) + Array(stride(from: lastDot + 1, to: bytes.count, by: 7)) + [bytes.count - 1]
        var accepted: [Int] = []
        for position in positions where bytes[position] != UInt8(ascii: ".") {
            var changed = bytes
            let index = alphabet.firstIndex(of: bytes[position])!
            changed[position] = alphabet[(index + 1) % alphabet.count]
            let token = String(decoding: changed, as: UTF8.self)
            let outcome = Result { () throws(JOSEError) -> JWK in try CompactJWS(token).verifySignature(keys: keys).key }
            if case .success = outcome { accepted.append(position) }
        }
        #expect(accepted.isEmpty, "changed tokens accepted at byte positions \(accepted)")
    }

    @Test func rfc7515A2ClaimsParseWithCRLFWhitespace() throws {
        let vector = Self.vectors.first { $0.name == "RFC7515-A.2" }!
        let verifier = JWTVerifier(keys: try Self.keySet(vector), claims: ClaimsPolicy(issuer: "joe"))
        let verified = try verifier.verify(vector.token, now: 1_300_819_000)
        #expect(verified.claims["http://example.com/is_root"] == .bool(true))
        #expect(verified.expiresAt == 1_300_819_380)
        // The example token expired in 2011.
        #expect(errorCode(Result { () throws(JOSEError) in try verifier.verify(vector.token) }) == "expired")
    }

    @Test func ed25519AlgorithmNameOfRFC9864IsAccepted() throws {
        let key = TestKeys.ed25519
        let keys = TestKeys.jwks([TestKeys.jwk(key, kid: "ed")])
        for algorithm in [JWSAlgorithm.eddsa, .ed25519] {
            let token = TokenForge.token(header: #"{"alg":"\#(algorithm.rawValue)","kid":"ed"}"#,
                                         payload: TokenForge.claims(), key: key, algorithm: algorithm)
            #expect(errorCode(verify(token, keys: keys)) == "valid", "alg \(algorithm.rawValue)")
        }
    }
}
