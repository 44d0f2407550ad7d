// JOSE benchmark: full JWT verification against a bare OpenSSL EVP_DigestVerify of the same
// bytes with a preloaded key, measured in the same run, interleaved (the machine is shared:
// absolute times drift, ratios hold). Budgets from the Foundation issue:
//   verify(RS256 ~1 KB Keycloak token) ≤ 1.2 × bare EVP_DigestVerify; same for ES256;
//   parse a 10-key JWKS < 100 µs.
import COpenSSL
import JOSE

#if canImport(Glibc)
import Glibc
#endif

func nowNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Median nanoseconds per operation over `rounds` batches of `batch` calls.
func measure(rounds: Int, batch: Int, _ body: () -> Void) -> [Double] {
    var samples: [Double] = []
    for _ in 0..<rounds {
        let start = nowNanoseconds()
        for _ in 0..<batch { body() }
        samples.append(Double(nowNanoseconds() - start) / Double(batch))
    }
    return samples
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

func keycloakClaims(now: Int) -> JSONObject {
    [
        "exp": .number(JSONNumber(now + 300)), "iat": .number(JSONNumber(now)), "auth_time": .number(JSONNumber(now - 5)),
        "jti": "onrtac:6c1f4d0e-8a9b-4a56-9d1e-2f3a4b5c6d7e",
        "iss": "https://keycloak.example.com/realms/systemupdate-dev",
        "aud": ["systemupdate-api", "account"], "sub": "3f1e2d4c-5b6a-4789-8c0d-1e2f3a4b5c6d",
        "typ": "Bearer", "azp": "systemupdate-web", "sid": "8d0c1b2a-3e4f-4a5b-9c6d-7e8f9a0b1c2d",
        "acr": "1", "allowed-origins": ["https://app.example.com"],
        "realm_access": ["roles": ["default-roles-systemupdate-dev", "offline_access", "uma_authorization", "operator"]],
        "resource_access": ["systemupdate-api": ["roles": ["devices:read", "commands:create"]],
                            "account": ["roles": ["manage-account", "manage-account-links", "view-profile"]]],
        "scope": "openid profile email", "email_verified": true, "name": "Alice Operator",
        "preferred_username": "alice", "given_name": "Alice", "family_name": "Operator", "email": "alice@example.com",
    ]
}

struct Case {
    let name: String
    let algorithm: JWSAlgorithm
    let key: PrivateKey
}

let now = Int(ClaimsPolicy.now())
let policy = ClaimsPolicy(issuer: "https://keycloak.example.com/realms/systemupdate-dev", audiences: .oneOf(["systemupdate-api"]))
var failures: [String] = []
print("JOSE benchmark (medians of interleaved batches; ratio = full verify / bare EVP_DigestVerify)")
print("")
print("case      token bytes   bare EVP (µs)   full verify (µs)   ratio   budget")

for testCase in [Case(name: "RS256", algorithm: .rs256, key: try! PrivateKey.generate(.rsa(bits: 2048))),
                 Case(name: "ES256", algorithm: .es256, key: try! PrivateKey.generate(.ec(.p256))),
                 Case(name: "PS256", algorithm: .ps256, key: try! PrivateKey.generate(.rsa(bits: 2048))),
                 Case(name: "EdDSA", algorithm: .eddsa, key: try! PrivateKey.generate(.ed25519))] {
    var jwk = testCase.key.publicKey.jwk()
    jwk["kid"] = "bench-key"
    let jwks = try! JWKS.parse(json: JSONValue.object(["keys": [.object(jwk)]]).serialized())
    let token = try! JWTSigner.sign(claims: keycloakClaims(now: now), key: testCase.key, algorithm: testCase.algorithm, kid: "bench-key")
    let verifier = JWTVerifier(keys: jwks, allowedAlgorithms: [testCase.algorithm], claims: policy)
    _ = try! verifier.verify(token)

    // The reference: the same signing input and signature, key loaded beforehand, one
    // EVP_DigestVerify (for ECDSA OpenSSL needs DER, converted beforehand too).
    let parts = token.split(separator: ".")
    let signingInput = Array((parts[0] + "." + parts[1]).utf8)
    let jws = try! CompactJWS(token)
    var signature = jws.signature
    if case .ec = testCase.key.publicKey.kind {
        let r = signature[0..<32], s = signature[32..<64]
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var content = Array(bytes.drop(while: { $0 == 0 }))
            if content.isEmpty || content[0] & 0x80 != 0 { content.insert(0, at: 0) }
            return [0x02, UInt8(content.count)] + content
        }
        let body = integer(r) + integer(s)
        signature = [0x30, UInt8(body.count)] + body
    }
    let pem = Array(testCase.key.publicKey.pem().utf8)
    let pkey = portcullis_read_pem(pem, Int32(pem.count), 1)!
    let md: OpaquePointer? = switch testCase.algorithm {
    case .eddsa, .ed25519: nil
    default: EVP_MD_fetch(nil, "SHA256", nil)
    }
    let pss = testCase.algorithm == .ps256
    func bare() {
        let ctx = EVP_MD_CTX_new()
        var pctx: OpaquePointer? = nil
        EVP_DigestVerifyInit(ctx, &pctx, md, nil, pkey)
        if pss {
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING)
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST)
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md)
        }
        let ok = EVP_DigestVerify(ctx, signature, signature.count, signingInput, signingInput.count)
        precondition(ok == 1)
        EVP_MD_CTX_free(ctx)
    }
    func full() {
        _ = try! verifier.verify(token)
    }
    var bareSamples: [Double] = [], fullSamples: [Double] = []
    for _ in 0..<3 { bare(); full() }
    for _ in 0..<40 {
        bareSamples += measure(rounds: 1, batch: 100, bare)
        fullSamples += measure(rounds: 1, batch: 100, full)
    }
    if testCase.name == "RS256" {
        let parse = median(measure(rounds: 20, batch: 200) { _ = try! CompactJWS(token) }) / 1000
        let claims = median(measure(rounds: 20, batch: 200) { _ = try! jws.registeredClaims() }) / 1000
        if getenv("JOSE_BENCH_PROFILE_CLAIMS") != nil { for _ in 0..<200_000 { _ = try! jws.registeredClaims() }; exit(0) }
        if getenv("JOSE_BENCH_PROFILE_VERIFY") != nil { for _ in 0..<100_000 { full() }; exit(0) }
        if getenv("JOSE_BENCH_PROFILE_PARSE") != nil { for _ in 0..<400_000 { _ = try! CompactJWS(token) }; exit(0) }
        let parsedClaims = try! jws.claims()
        let check = median(measure(rounds: 20, batch: 200) { try! policy.check(header: jws.header, claims: parsedClaims, now: Double(now)) }) / 1000
        let b64 = median(measure(rounds: 20, batch: 200) { _ = Base64URL.decode(String(parts[1])) }) / 1000
        print("  breakdown: CompactJWS parse \(format(parse)) µs (payload base64 \(format(b64)) µs), claims JSON (validate all, build registered) \(format(claims)) µs, claims check \(format(check)) µs")
    }
    let bareMedian = median(bareSamples) / 1000, fullMedian = median(fullSamples) / 1000
    let ratio = fullMedian / bareMedian
    let budgeted = testCase.name == "RS256" || testCase.name == "ES256"
    let budget = budgeted ? "≤ 1.20" : "(info)"
    if budgeted && ratio > 1.2 { failures.append("\(testCase.name) ratio \(ratio)") }
    print("\(testCase.name.padding(10))\(String(token.utf8.count).padding(14))\(format(bareMedian).padding(16))\(format(fullMedian).padding(19))\(format(ratio).padding(8))\(budget)")
    EVP_PKEY_free(pkey)
}

// A 10-key JWKS as an issuer publishes it (RSA and EC, with use/alg/kid and x5c-like noise).
var objects: [JSONValue] = []
for index in 0..<10 {
    let key = index % 2 == 0 ? try! PrivateKey.generate(.rsa(bits: 2048)) : try! PrivateKey.generate(.ec(.p256))
    var jwk = key.publicKey.jwk()
    jwk["kid"] = .string("key-\(index)")
    jwk["use"] = "sig"
    jwk["alg"] = index % 2 == 0 ? "RS256" : "ES256"
    objects.append(.object(jwk))
}
let jwksText = JSONValue.object(["keys": .array(objects)]).serialized()
if getenv("JOSE_BENCH_PROFILE_JWKS") != nil { for _ in 0..<Int(String(cString: getenv("JOSE_BENCH_PROFILE_JWKS")))! { _ = try! JWKS.parse(json: jwksText) }; exit(0) }
let parseSamples = measure(rounds: 30, batch: 20) { _ = try! JWKS.parse(json: jwksText) }
let parseMedian = median(parseSamples) / 1000
print("")
print("parse a 10-key JWKS (\(jwksText.utf8.count) bytes, 5 RSA + 5 EC): \(format(parseMedian)) µs   budget < 100 µs")
if parseMedian >= 100 { failures.append("JWKS parse \(parseMedian) µs") }

print("")
if failures.isEmpty {
    print("all budgets met")
} else {
    print("OVER BUDGET: \(failures.joined(separator: "; "))")
    exit(1)
}

func format(_ value: Double) -> String {
    let scaled = (value * 100).rounded() / 100
    return String(scaled)
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
