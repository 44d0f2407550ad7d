import Testing
@testable import JOSE

struct KeySetTests {
    @Test func unknownKeyTypesAreSkippedNotFatal() throws {
        let json = """
            {"keys":[
              {"kty":"oct","kid":"hmac","k":"c2VjcmV0"},
              {"kty":"XYZ","kid":"future"},
              {"kty":"OKP","crv":"X25519","kid":"dh","x":"AAAA"},
              {"kty":"EC","crv":"secp256k1","kid":"k1","x":"AA","y":"AA"},
              \(JSONValue.object(TestKeys.jwk(TestKeys.rsa, kid: "rsa-1")).serialized())
            ]}
            """
        let set = try JWKS.parse(json: json)
        #expect(set.keys.map(\.kid) == ["rsa-1"])
        #expect(set.leftOut.count == 4)
        #expect(set.leftOut.allSatisfy { $0.error == nil })
    }

    @Test func malformedDocumentIsAnError() {
        for json in ["", "[]", #"{"keys":{}}"#, #"{"nokeys":[]}"#, #"{"keys":[],"keys":[]}"#] {
            #expect(throws: JOSEError.self, "\(json)") { try JWKS.parse(json: json) }
        }
    }

    @Test func encryptionKeysAndKeysWithoutVerifyAreNotUsed() {
        let keys = TestKeys.jwks([
            TestKeys.jwk(TestKeys.rsa, kid: "enc", extra: ["use": "enc"]),
            TestKeys.jwk(TestKeys.rsa, kid: "sign-only", extra: ["key_ops": ["sign"]]),
            TestKeys.jwk(TestKeys.rsa, kid: "ok", extra: ["use": "sig", "key_ops": ["verify"]]),
        ])
        #expect(keys.keys.map(\.kid) == ["ok"])
        #expect(errorCode(verify(TokenForge.valid(kid: "enc"), keys: keys)) == "key_mismatch")
        #expect(errorCode(verify(TokenForge.valid(kid: "sign-only"), keys: keys)) == "key_mismatch")
        #expect(errorCode(verify(TokenForge.valid(kid: "ok"), keys: keys)) == "valid")
    }

    @Test func ecPointOffTheCurveIsRefused() {
        var jwk = TestKeys.jwk(TestKeys.p256, kid: "bad")
        var y = Base64URL.decode(jwk["y"]!.stringValue!)!
        y[31] ^= 1
        jwk["y"] = .string(Base64URL.encode(y))
        let keys = TestKeys.jwks([jwk])
        #expect(keys.keys.isEmpty)
        #expect(keys.leftOut.first?.error?.code == .invalidKey)
        let token = TokenForge.valid(kid: "bad", algorithm: .es256, key: TestKeys.p256)
        #expect(errorCode(verify(token, keys: keys)) == "invalid_key")
    }

    @Test func ecCoordinatesMustBeFullLength() {
        var jwk = TestKeys.jwk(TestKeys.p256, kid: "short")
        jwk["x"] = .string(Base64URL.encode(Base64URL.decode(jwk["x"]!.stringValue!)!.dropFirst()))
        #expect(TestKeys.jwks([jwk]).keys.isEmpty)
    }

    @Test(arguments: ["AQ", "Ag", "AAE", "BA"])
    func rsaExponentOneOrEvenIsRefused(_ exponent: String) {
        var jwk = TestKeys.jwk(TestKeys.rsa, kid: "bad-e")
        jwk["e"] = .string(exponent)
        #expect(TestKeys.jwks([jwk]).keys.isEmpty)
    }

    @Test func tokenWithoutKidUsesTheOnlyKeyOfTheRightType() {
        let token = TokenForge.token(header: #"{"alg":"RS256"}"#, payload: TokenForge.claims(), key: TestKeys.rsa, algorithm: .rs256)
        // The standard set has one RSA key (and EC/OKP keys that cannot verify RS256).
        #expect(errorCode(verify(token)) == "valid")
        let twoRSA = TestKeys.jwks([TestKeys.jwk(TestKeys.rsa, kid: "a"), TestKeys.jwk(TestKeys.rsaOther, kid: "b")])
        #expect(errorCode(verify(token, keys: twoRSA)) == "unknown_kid")
        let none = TestKeys.jwks([TestKeys.jwk(TestKeys.p256, kid: "a")])
        #expect(errorCode(verify(token, keys: none)) == "unknown_kid")
    }

    @Test func repeatedKidTriesEachKeyOfThatKid() {
        let keys = TestKeys.jwks([TestKeys.jwk(TestKeys.rsaOther, kid: "dup"), TestKeys.jwk(TestKeys.rsa, kid: "dup")])
        #expect(errorCode(verify(TokenForge.valid(kid: "dup"), keys: keys)) == "valid")
    }

    @Test func tenKeySetParses() throws {
        let objects = (0..<10).map { TestKeys.jwk($0 % 2 == 0 ? TestKeys.rsa : TestKeys.p256, kid: "k\($0)") }
        #expect(TestKeys.jwks(objects).keys.count == 10)
    }

    @Test func publicJWKRoundTrips() throws {
        for key in [TestKeys.rsa, TestKeys.p256, TestKeys.p384, TestKeys.p521, TestKeys.ed25519] {
            let jwk = try JWK.parse(json: JSONValue.object(key.publicKey.jwk()).serialized())
            #expect(jwk.key.kind == key.publicKey.kind)
            #expect(jwk.key.jwk() == key.publicKey.jwk())
        }
    }

    @Test func pemPublicKeyLoadsAndWeakPEMIsRefused() throws {
        let key = try PublicKey.pem(TestKeys.rsa.publicKey.pem())
        #expect(key.kind == .rsa)
        #expect(key.bits == 2048)
        #expect(throws: JOSEError.self) { try PublicKey.pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n") }
    }
}
