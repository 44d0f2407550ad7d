import Testing
@testable import JOSE

struct SigningTests {
    @Test func privateKeyRoundTripsThroughPEM() throws {
        for key in [TestKeys.rsa, TestKeys.p256, TestKeys.ed25519] {
            let reloaded = try PrivateKey.pem(key.pem())
            #expect(reloaded.publicKey.jwk() == key.publicKey.jwk())
        }
    }

    @Test func privateJWKSigns() throws {
        // RFC 7515 A.3's P-256 key pair.
        let jwk: JSONObject = ["kty": "EC", "crv": "P-256",
                               "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                               "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
                               "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"]
        let key = try PrivateKey.jwk(jwk)
        let token = try JWTSigner.sign(claims: ["exp": 1_800_000_100], key: key, algorithm: .es256, kid: "a3")
        let keys = TestKeys.jwks([TestKeys.jwk(key, kid: "a3")])
        #expect(errorCode(verify(token, keys: keys, policy: ClaimsPolicy())) == "valid")
    }

    @Test func ed25519SignerReproducesRFC8037A4Exactly() throws {
        // Ed25519 is deterministic: the RFC's private key must give the published token.
        let key = try PrivateKey.jwk(["kty": "OKP", "crv": "Ed25519",
                                      "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
                                      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"])
        let token = try JWTSigner.sign(payload: Array("Example of Ed25519 signing".utf8), key: key, algorithm: .eddsa, type: nil)
        let published = RFCVectorTests.vectors.first { $0.name == "RFC8037-A.4" }!.token
        #expect(token == published)
    }

    @Test func privateJWKWithMismatchedPublicPartIsRefused() {
        var jwk = TestKeys.p256.publicKey.jwk()
        jwk["d"] = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
        #expect(throws: JOSEError.self) { try PrivateKey.jwk(jwk) }
    }

    @Test func weakRSAKeysCannotSign() {
        #expect(throws: JOSEError.self) { try PrivateKey.generate(.rsa(bits: 1024)) }
    }

    @Test func algorithmMustFitTheKey() {
        #expect(throws: JOSEError.self) { try JWTSigner.sign(claims: [:], key: TestKeys.p256, algorithm: .rs256) }
    }

    @Test func ecdsaSignatureIsRawAndFixedLength() throws {
        for (key, size) in [(TestKeys.p256, 64), (TestKeys.p384, 96), (TestKeys.p521, 132)] {
            let algorithm = key.algorithms.first!
            for _ in 0..<8 {
                #expect(try JWTSigner.sign([1, 2, 3], key: key, algorithm: algorithm).count == size)
            }
        }
    }
}

struct EncodingTests {
    @Test func base64URLRoundTripsEveryLength() {
        for length in 0..<64 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
    }

    @Test func base64URLRejectsNonCanonicalTrailingBits() {
        #expect(Base64URL.decode("QQ") == [0x41])
        #expect(Base64URL.decode("QR") == nil)
        #expect(Base64URL.decode("QUI") == [0x41, 0x42])
        #expect(Base64URL.decode("QUJ") == nil)
        #expect(Base64URL.decode("Q") == nil)
    }

    @Test func jsonParserAcceptsRFC8259() throws {
        let value = try JSONParser.parse(#" {"a":[1,-2.5e3,true,false,null,"\u00e9\ud83d\ude00\n"],"b":{}} "#)
        #expect(value["a"]?.arrayValue?.count == 6)
        #expect(value["a"]?.arrayValue?[5] == .string("é😀\n"))
        #expect(value["a"]?.arrayValue?[1].numberValue?.double == -2500)
    }

    @Test(arguments: [
        #"{"a":1,"a":2}"#, #"{"a":1,}"#, "[1,]", "01", "1.", ".5", "+1", "NaN", #""\x""#, "\"\u{01}\"",
        #""\ud800""#, #"{"a":1} x"#, "", "tru", #"{'a':1}"#, "1e999",
    ])
    func jsonParserRejects(_ text: String) {
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(text) }
    }

    @Test func jsonParserRejectsInvalidUTF8AndDeepNesting() {
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(bytes: [0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)) }
    }

    @Test func duplicateDetectionWorksForLargeObjects() {
        let members = (0..<40).map { #""k\#($0)":\#($0)"# }
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse("{" + (members + [#""k3":0"#]).joined(separator: ",") + "}") }
        #expect((try? JSONParser.parse("{" + members.joined(separator: ",") + "}"))?.objectValue?.count == 40)
    }

    @Test func jsonWriterEscapesAndKeepsNumbers() throws {
        let text = #"{"s":"a\"b\\c\u0001","n":12345678901234567890,"f":0.1}"#
        let value = try JSONParser.parse(text)
        #expect(value.serialized() == text)
    }
}
