import Testing
@testable import JOSE

/// One test per claim rule and error code (docs/AUTH_GUIDE.md lists them in order).
struct ClaimsTests {
    let now = Int(TestKeys.now)

    @Test func validTokenVerifiesAndReturnsItsClaims() throws {
        let verified = try verify(TokenForge.valid()).get()
        #expect(verified.claims["sub"] == "user-1")
        #expect(verified.keyID == "rsa-1")
        #expect(verified.algorithm == .rs256)
    }

    @Test func expiredTokenIsRejected() {
        #expect(errorCode(verify(TokenForge.valid(["exp": .number(JSONNumber(now - 61))]))) == "expired")
    }

    @Test func expiryWithinTheLeewayIsAccepted() {
        #expect(errorCode(verify(TokenForge.valid(["exp": .number(JSONNumber(now - 59))]))) == "valid")
        var strict = standardPolicy
        strict.leeway = 0
        #expect(errorCode(verify(TokenForge.valid(["exp": .number(JSONNumber(now))]), policy: strict)) == "expired")
    }

    @Test func timesInMessagesAreReadable() {
        #expect(ClaimsPolicy.format(1_800_000_000) == "1800000000 (2027-01-15T08:00:00Z)")
        #expect(ClaimsPolicy.format(0) == "0 (1970-01-01T00:00:00Z)")
        #expect(ClaimsPolicy.format(951_782_400.9) == "951782400 (2000-02-29T00:00:00Z)")
    }

    @Test func missingExpIsRejectedByDefault() {
        let token = TokenForge.valid(removing: ["exp"])
        #expect(errorCode(verify(token)) == "missing_claim")
        var lenient = standardPolicy
        lenient.requireExpiration = false
        #expect(errorCode(verify(token, policy: lenient)) == "valid")
    }

    @Test func notYetValidTokenIsRejected() {
        #expect(errorCode(verify(TokenForge.valid(["nbf": .number(JSONNumber(now + 61))]))) == "not_yet_valid")
        #expect(errorCode(verify(TokenForge.valid(["nbf": .number(JSONNumber(now + 59))]))) == "valid")
    }

    @Test func tokenIssuedInTheFutureIsRejected() {
        #expect(errorCode(verify(TokenForge.valid(["iat": .number(JSONNumber(now + 61))]))) == "issued_in_future")
    }

    @Test(arguments: ["exp", "nbf", "iat"])
    func timeClaimThatIsNotANumberIsInvalid(_ claim: String) {
        #expect(errorCode(verify(TokenForge.valid([claim: .string(String(now + 100))]))) == "invalid_claim")
        #expect(errorCode(verify(TokenForge.valid([claim: .null]))) == "invalid_claim")
    }

    @Test func fractionalTimesAreNumbers() {
        let token = TokenForge.token(header: #"{"alg":"RS256","kid":"rsa-1"}"#,
                                     payload: #"{"iss":"https://issuer.test","aud":"api","exp":1800000100.5,"iat":1.7999999e9}"#,
                                     key: TestKeys.rsa, algorithm: .rs256)
        #expect(errorCode(verify(token)) == "valid")
    }

    @Test func wrongIssuerIsRejected() {
        #expect(errorCode(verify(TokenForge.valid(["iss": "https://evil.test"]))) == "wrong_issuer")
        // Exact match: no trailing-slash or case folding.
        #expect(errorCode(verify(TokenForge.valid(["iss": "https://issuer.test/"]))) == "wrong_issuer")
        #expect(errorCode(verify(TokenForge.valid(["iss": "HTTPS://issuer.test"]))) == "wrong_issuer")
    }

    @Test func missingIssuerIsRejected() {
        #expect(errorCode(verify(TokenForge.valid(removing: ["iss"]))) == "missing_claim")
        #expect(errorCode(verify(TokenForge.valid(["iss": 5]))) == "invalid_claim")
    }

    @Test func audienceAsStringOrArrayMustContainAnAcceptedOne() {
        #expect(errorCode(verify(TokenForge.valid(["aud": "other"]))) == "wrong_audience")
        #expect(errorCode(verify(TokenForge.valid(["aud": ["other", "api"]]))) == "valid")
        #expect(errorCode(verify(TokenForge.valid(["aud": ["other", "more"]]))) == "wrong_audience")
        #expect(errorCode(verify(TokenForge.valid(["aud": []]))) == "wrong_audience")
        #expect(errorCode(verify(TokenForge.valid(removing: ["aud"]))) == "missing_claim")
        #expect(errorCode(verify(TokenForge.valid(["aud": ["api", 1]]))) == "invalid_claim")
    }

    @Test func audienceIsNotCheckedWhenAnyIsConfigured() {
        let policy = ClaimsPolicy(issuer: "https://issuer.test", audiences: .any)
        #expect(errorCode(verify(TokenForge.valid(removing: ["aud"]), policy: policy)) == "valid")
    }

    @Test func maxLifetimeIsEnforced() {
        var policy = standardPolicy
        policy.maxLifetime = 300
        #expect(errorCode(verify(TokenForge.valid(["iat": .number(JSONNumber(now - 10)), "exp": .number(JSONNumber(now + 290))]), policy: policy)) == "valid")
        #expect(errorCode(verify(TokenForge.valid(["iat": .number(JSONNumber(now - 10)), "exp": .number(JSONNumber(now + 3600))]), policy: policy)) == "lifetime_too_long")
        #expect(errorCode(verify(TokenForge.valid(removing: ["iat"]), policy: policy)) == "missing_claim")
    }

    @Test func typIsCheckedWhenConfigured() {
        var policy = standardPolicy
        policy.expectedType = "at+jwt"
        let good = TokenForge.token(header: #"{"alg":"RS256","kid":"rsa-1","typ":"application/AT+JWT"}"#,
                                    payload: TokenForge.claims(), key: TestKeys.rsa, algorithm: .rs256)
        #expect(errorCode(verify(good, policy: policy)) == "valid")
        #expect(errorCode(verify(TokenForge.valid(), policy: policy)) == "wrong_type")
    }

    @Test func claimsAreNotExaminedBeforeTheSignatureVerifies() {
        // An expired token with a bad signature reports the signature, not the expiry.
        let forged = TokenForge.valid(["exp": .number(JSONNumber(now - 1000))], key: TestKeys.rsaOther)
        #expect(errorCode(verify(forged)) == "bad_signature")
    }

    @Test(arguments: JWSAlgorithm.allCases)
    func everyAlgorithmSignsAndVerifies(_ algorithm: JWSAlgorithm) {
        let kid: String
        switch algorithm.keyKind {
        case .rsa: kid = "rsa-1"
        case .ec: kid = "ec"
        case .ed25519: kid = "ed-1"
        }
        let keys = TestKeys.jwks([TestKeys.jwk(TestKeys.rsa, kid: "rsa-1"), TestKeys.jwk(TestKeys.key(for: algorithm), kid: "ec"),
                                  TestKeys.jwk(TestKeys.ed25519, kid: "ed-1")])
        let token = TokenForge.valid(kid: kid, algorithm: algorithm, key: TestKeys.key(for: algorithm))
        #expect(errorCode(verify(token, keys: keys)) == "valid")
    }
}

/// Verification builds only the registered claims but must validate the whole payload.
struct SelectiveClaimsTests {
    @Test(arguments: [
        #"{"exp":1800000300,"x":{"a":1,"a":2}}"#,
        #"{"exp":1800000300,"x":[1,2,}"#,
        #"{"exp":1800000300,"x":"\ud800"}"#,
        #"{"exp":1800000300,"x":01}"#,
        #"{"exp":1800000300,"x":1e999}"#,
        #"{"exp":1800000300,"exp":1}"#,
        #"{"exp":1800000300,"x":tru}"#,
    ])
    func payloadProblemsOutsideTheRegisteredClaimsAreStillMalformed(_ payload: String) {
        let token = TokenForge.token(header: #"{"alg":"RS256","kid":"rsa-1"}"#, payload: payload, key: TestKeys.rsa, algorithm: .rs256)
        #expect(errorCode(verify(token, policy: ClaimsPolicy())) == "malformed")
    }

    @Test func payloadWithInvalidUTF8InAnUnusedClaimIsMalformed() {
        let payload: [UInt8] = Array(#"{"exp":1800000300,"x":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        let token = try! JWTSigner.sign(payload: payload, key: TestKeys.rsa, algorithm: .rs256, kid: "rsa-1")
        #expect(errorCode(verify(token, policy: ClaimsPolicy())) == "malformed")
    }

    @Test func claimsOfAVerifiedTokenAreEveryClaimAsSigned() throws {
        let verified = try verify(TokenForge.valid(["realm_access": ["roles": ["operator", "viewer"]], "big": .number(JSONNumber(text: "12345678901234567890", double: 1.2345678901234567e19))])).get()
        #expect(verified.expiresAt == TestKeys.now + 300)
        #expect(verified.issuedAt == TestKeys.now - 10)
        #expect(verified.notBefore == nil)
        #expect(verified.header["kid"] == "rsa-1")
        #expect(verified.claims["realm_access"]?["roles"] == ["operator", "viewer"])
        #expect(verified.claims["big"]?.numberValue?.text == "12345678901234567890")
        #expect(verified.claims == (try JSONParser.parse(bytes: verified.payload)).objectValue)
    }

    @Test func oneKeyVerifiesFromManyThreadsAtOnce() async {
        // Keys are shared by every event loop: their lazily built OpenSSL contexts must be race-free.
        let keys = TestKeys.jwks([TestKeys.jwk(TestKeys.rsa, kid: "rsa-1"), TestKeys.jwk(TestKeys.p256, kid: "ec-1")])
        let rsaToken = TokenForge.valid(), ecToken = TokenForge.valid(kid: "ec-1", algorithm: .es256, key: TestKeys.p256)
        let psToken = TokenForge.valid(algorithm: .ps256)
        let outcomes = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    (0..<50).flatMap { _ in [rsaToken, ecToken, psToken].map { errorCode(verify($0, keys: keys)) } }
                }
            }
            return await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(outcomes.count == 8 * 50 * 3)
        #expect(outcomes.allSatisfy { $0 == "valid" })
    }
}
