import Testing
@testable import JOSE

/// The classic JWT attacks, each of which has broken a real gateway.
struct AttackTests {
    @Test(arguments: ["none", "None", "NONE", "nOnE"])
    func algNoneIsRejectedInAnySpelling(_ spelling: String) {
        let token = TokenForge.b64(#"{"alg":"\#(spelling)","typ":"JWT"}"#) + "." + TokenForge.b64(TokenForge.claims()) + "."
        #expect(errorCode(verify(token)) == "unsupported_alg")
        // Even with a kid naming a real key and a non-empty "signature".
        let withKid = TokenForge.b64(#"{"alg":"\#(spelling)","kid":"rsa-1"}"#) + "." + TokenForge.b64(TokenForge.claims()) + ".AAAA"
        #expect(errorCode(verify(withKid)) == "unsupported_alg")
    }

    @Test(arguments: ["HS256", "HS384", "HS512"])
    func hmacKeyedWithTheRSAPublicKeyIsRejected(_ alg: String) {
        // RS/HS confusion: the attacker MACs with the server's public key PEM as the secret.
        let pem = TestKeys.rsa.publicKey.pem()
        let input = TokenForge.b64(#"{"alg":"\#(alg)","kid":"rsa-1"}"#) + "." + TokenForge.b64(TokenForge.claims())
        let mac = TokenForge.hmacSHA256(key: Array(pem.utf8), data: Array(input.utf8))
        #expect(errorCode(verify(input + "." + Base64URL.encode(mac))) == "unsupported_alg")
    }

    @Test func tamperedHeaderFails() {
        let parts = TokenForge.valid().split(separator: ".").map(String.init)
        let header = TokenForge.b64(#"{"alg":"RS256","typ":"JWT","kid":"rsa-1","x":1}"#)
        #expect(errorCode(verify([header, parts[1], parts[2]].joined(separator: "."))) == "bad_signature")
    }

    @Test func tamperedPayloadFails() {
        let parts = TokenForge.valid().split(separator: ".").map(String.init)
        let payload = TokenForge.b64(TokenForge.claims(["sub": "admin"]))
        #expect(errorCode(verify([parts[0], payload, parts[2]].joined(separator: "."))) == "bad_signature")
    }

    @Test func strippedSignatureFails() {
        let parts = TokenForge.valid().split(separator: ".").map(String.init)
        #expect(errorCode(verify(parts[0] + "." + parts[1] + ".")) == "bad_signature")
        #expect(errorCode(verify(parts[0] + "." + parts[1])) == "malformed")
    }

    @Test func signatureFromAnotherKeyFails() {
        #expect(errorCode(verify(TokenForge.valid(key: TestKeys.rsaOther))) == "bad_signature")
    }

    @Test func jweShapedTokenIsMalformed() {
        let jwe = TokenForge.b64(#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#) + ".AAAA.AAAA.AAAA.AAAA"
        #expect(errorCode(verify(jwe)) == "malformed")
    }

    @Test func jweAlgorithmInThreeSegmentsIsUnsupported() {
        let token = TokenForge.b64(#"{"alg":"RSA-OAEP","enc":"A256GCM","kid":"rsa-1"}"#) + "." + TokenForge.b64("{}") + ".AAAA"
        #expect(errorCode(verify(token)) == "unsupported_alg")
    }

    @Test func unknownCriticalHeaderIsRejected() {
        let token = TokenForge.token(header: #"{"alg":"RS256","kid":"rsa-1","crit":["exp-policy"],"exp-policy":1}"#,
                                     payload: TokenForge.claims(), key: TestKeys.rsa, algorithm: .rs256)
        #expect(errorCode(verify(token)) == "unsupported_crit")
        let b64false = TokenForge.token(header: #"{"alg":"RS256","kid":"rsa-1","b64":false,"crit":["b64"]}"#,
                                        payload: TokenForge.claims(), key: TestKeys.rsa, algorithm: .rs256)
        #expect(errorCode(verify(b64false)) == "unsupported_crit")
    }

    @Test func emptyCritIsMalformed() {
        let token = TokenForge.token(header: #"{"alg":"RS256","kid":"rsa-1","crit":[]}"#,
                                     payload: TokenForge.claims(), key: TestKeys.rsa, algorithm: .rs256)
        #expect(errorCode(verify(token)) == "malformed")
    }

    @Test func rsa1024KeyIsRefusedAsWeak() {
        // A 1024-bit modulus: refused when the set loads, so a token naming it gets weak_key.
        let modulus = [UInt8(0xC1)] + [UInt8](repeating: 0x5A, count: 126) + [0x01]
        let weak: JSONObject = ["kty": "RSA", "kid": "weak", "n": .string(Base64URL.encode(modulus)), "e": "AQAB"]
        let keys = TestKeys.jwks([weak, TestKeys.jwk(TestKeys.rsa, kid: "rsa-1")])
        #expect(keys.keys.count == 1)
        #expect(keys.leftOut.first?.error?.code == .weakKey)
        let token = TokenForge.valid(kid: "weak")
        #expect(errorCode(verify(token, keys: keys)) == "weak_key")
    }

    @Test func es256WithDERSignatureIsRejected() {
        let input = TokenForge.b64(#"{"alg":"ES256","kid":"ec-1"}"#) + "." + TokenForge.b64(TokenForge.claims())
        let raw = try! JWTSigner.sign(Array(input.utf8), key: TestKeys.p256, algorithm: .es256)
        // Re-encode R||S as DER, the form many libraries produce by mistake.
        let der = ECDSASignature.der(fromRaw: raw, curve: .p256)!
        #expect(errorCode(verify(input + "." + Base64URL.encode(der))) == "bad_signature")
        #expect(errorCode(verify(input + "." + Base64URL.encode(raw))) == "valid")
    }

    @Test(arguments: [JWSAlgorithm.es256, .es384, .es512])
    func allZeroECDSASignatureIsRejected(_ algorithm: JWSAlgorithm) {
        // CVE-2022-21449 ("psychic signatures"): R = S = 0 verified anything in Java 15–18.
        guard case .ec(let curve) = algorithm.keyKind else { return }
        let keys = TestKeys.jwks([TestKeys.jwk(TestKeys.key(for: algorithm), kid: "ec")])
        let input = TokenForge.b64(#"{"alg":"\#(algorithm.rawValue)","kid":"ec"}"#) + "." + TokenForge.b64(TokenForge.claims())
        let zeros = [UInt8](repeating: 0, count: 2 * curve.coordinateSize)
        #expect(errorCode(verify(input + "." + Base64URL.encode(zeros), keys: keys)) == "bad_signature")
    }

    @Test func ecdsaSignatureWithROrSAtTheGroupOrderIsRejected() {
        let input = TokenForge.b64(#"{"alg":"ES256","kid":"ec-1"}"#) + "." + TokenForge.b64(TokenForge.claims())
        let raw = try! JWTSigner.sign(Array(input.utf8), key: TestKeys.p256, algorithm: .es256)
        let order = KeyKind.Curve.p256.order
        #expect(errorCode(verify(input + "." + Base64URL.encode(order + raw.suffix(32)))) == "bad_signature")
        #expect(errorCode(verify(input + "." + Base64URL.encode(raw.prefix(32) + order))) == "bad_signature")
        #expect(errorCode(verify(input + "." + Base64URL.encode([UInt8](repeating: 0xFF, count: 64)))) == "bad_signature")
    }

    @Test func embeddedJWKAndJKUNamingTheAttackersKeyAreIgnored() {
        let attacker = TestKeys.rsaOther
        let attackerJWK = JSONValue.object(TestKeys.jwk(attacker, kid: "rsa-1")).serialized()
        for header in [
            #"{"alg":"RS256","kid":"rsa-1","jwk":\#(attackerJWK)}"#,
            #"{"alg":"RS256","kid":"rsa-1","jku":"https://attacker.example/jwks.json"}"#,
            #"{"alg":"RS256","kid":"rsa-1","x5u":"https://attacker.example/cert.pem","x5c":["MIIB"]}"#,
        ] {
            let token = TokenForge.token(header: header, payload: TokenForge.claims(), key: attacker, algorithm: .rs256)
            #expect(errorCode(verify(token)) == "bad_signature", "header \(header)")
        }
        // Naming a kid that only the attacker's embedded key has gets nowhere either.
        let token = TokenForge.token(header: #"{"alg":"RS256","kid":"evil","jwk":\#(attackerJWK)}"#,
                                     payload: TokenForge.claims(), key: attacker, algorithm: .rs256)
        #expect(errorCode(verify(token)) == "unknown_kid")
    }

    @Test func oversizedTokenIsRejectedBeforeDecoding() {
        let huge = TokenForge.valid(["padding": .string(String(repeating: "x", count: 20_000))])
        #expect(errorCode(verify(huge)) == "too_large")
        // Not even well-formed: size is checked first.
        #expect(errorCode(verify(String(repeating: "!", count: 16 * 1024 + 1))) == "too_large")
    }

    @Test(arguments: ["+", "/", " ", "=", "\n", "%", "é"])
    func nonBase64URLCharactersAreMalformed(_ character: String) {
        let parts = TokenForge.valid().split(separator: ".").map(String.init)
        for index in 0..<3 {
            var changed = parts
            changed[index].insert(contentsOf: character, at: changed[index].index(changed[index].startIndex, offsetBy: 4))
            #expect(errorCode(verify(changed.joined(separator: "."))) == "malformed", "segment \(index)")
        }
    }

    @Test func paddingIsMalformed() {
        let parts = TokenForge.valid().split(separator: ".").map(String.init)
        for index in 0..<3 {
            var changed = parts
            changed[index] += changed[index].count % 4 == 0 ? "==" : String(repeating: "=", count: 4 - changed[index].count % 4)
            #expect(errorCode(verify(changed.joined(separator: "."))) == "malformed", "segment \(index)")
        }
    }

    @Test(arguments: [#"[1,2]"#, #""sub""#, "42", "null", "not json", #"{"sub":"a""#])
    func payloadThatIsNotAnObjectIsMalformed(_ payload: String) {
        let token = TokenForge.token(header: #"{"alg":"RS256","kid":"rsa-1"}"#, payload: payload, key: TestKeys.rsa, algorithm: .rs256)
        #expect(errorCode(verify(token)) == "malformed")
    }

    @Test(arguments: [#"{"alg":"RS256","alg":"none","kid":"rsa-1"}"#, #"{"alg":"RS256","kid":"rsa-1","kid":"ec-1"}"#])
    func duplicateHeaderMembersAreMalformed(_ header: String) {
        let token = TokenForge.token(header: header, payload: TokenForge.claims(), key: TestKeys.rsa, algorithm: .rs256)
        #expect(errorCode(verify(token)) == "malformed")
    }

    @Test func duplicateClaimsAreMalformed() {
        let token = TokenForge.token(header: #"{"alg":"RS256","kid":"rsa-1"}"#,
                                     payload: #"{"sub":"user","sub":"admin","exp":1800000300,"iss":"https://issuer.test","aud":"api"}"#,
                                     key: TestKeys.rsa, algorithm: .rs256)
        #expect(errorCode(verify(token)) == "malformed")
    }

    @Test func jwkAlgDifferentFromTheTokensIsAKeyMismatch() {
        let keys = TestKeys.jwks([TestKeys.jwk(TestKeys.rsa, kid: "rsa-1", alg: "RS384")])
        #expect(errorCode(verify(TokenForge.valid(), keys: keys)) == "key_mismatch")
        #expect(errorCode(verify(TokenForge.valid(algorithm: .rs384), keys: keys)) == "valid")
    }

    @Test func keyOfAnotherFamilyCannotVerify() {
        // kid names the EC key, alg claims RSA.
        #expect(errorCode(verify(TokenForge.valid(kid: "ec-1"))) == "key_mismatch")
    }

    @Test func algorithmOutsideTheAllowListIsRejected() {
        #expect(errorCode(verify(TokenForge.valid(), algorithms: [.es256])) == "unsupported_alg")
        #expect(errorCode(verify(TokenForge.valid(algorithm: .ps256), algorithms: [.rs256])) == "unsupported_alg")
    }

    @Test func unknownKidIsRejected() {
        #expect(errorCode(verify(TokenForge.valid(kid: "rotated-away"))) == "unknown_kid")
    }

    @Test func nonStringKidOrAlgIsMalformed() {
        for header in [#"{"alg":"RS256","kid":7}"#, #"{"alg":["RS256"],"kid":"rsa-1"}"#, #"{"kid":"rsa-1"}"#, "[]", "{}"] {
            let token = TokenForge.token(header: header, payload: TokenForge.claims(), key: TestKeys.rsa, algorithm: .rs256)
            #expect(errorCode(verify(token)) == "malformed", "header \(header)")
        }
    }
}
