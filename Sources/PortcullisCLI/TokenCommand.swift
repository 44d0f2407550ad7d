import ArgumentParser
import Foundation
import Identity
import JOSE

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Inspect, verify and sign JWTs.",
        version: Portcullis.version,
        subcommands: [Inspect.self, Verify.self, Sign.self, KeyGen.self, PublicJWKS.self]
    )
}

/// `TOKEN` arguments may be `-` for standard input.
func readToken(_ argument: String) throws -> String {
    let text = argument == "-" ? try InputFiles.read("-", limit: 1 << 20, what: "token") : argument
    return text.trimmingCharacters(in: .whitespacesAndNewlines)
}

func printJSON(_ value: JSONValue) {
    FileOutput.standardOutput.write(value.serialized(pretty: true) + "\n")
}

extension TokenCommand {
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a token's header and claims as JSON, WITHOUT verifying anything.",
            discussion: "Exit status: 0 when the token is well-formed, 1 when it is not, 2 on a usage error.",
            version: Portcullis.version
        )

        @Argument(help: "The compact JWS, or - to read it from standard input.")
        var token: String

        func run() throws {
            let jws: CompactJWS
            do { jws = try CompactJWS(try readToken(token), maxBytes: 1 << 20) } catch let error as JOSEError {
                printJSON(["verified": false, "code": .string(error.code.rawValue), "message": .string(error.message)])
                throw ExitCode(1)
            }
            var output = JSONObject()
            output["verified"] = false
            output["warning"] = "UNVERIFIED: neither the signature nor any claim was checked"
            output["header"] = .object(jws.header)
            switch Result(catching: { try jws.claims() }) {
            case .success(let claims): output["claims"] = .object(claims)
            case .failure: output["payload_text"] = .string(String(decoding: jws.payload, as: UTF8.self))
            }
            printJSON(.object(output))
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a token's signature and claims.",
            discussion: """
                Prints {"valid", "code", "message", "header", "claims"} (claims only when valid).
                Exit status: 0 valid, 1 invalid, 2 usage error (bad option, unreadable key set).
                """,
            version: Portcullis.version
        )

        @Argument(help: "The compact JWS, or - to read it from standard input.")
        var token: String

        @Option(help: "A JWKS, a single JWK or a PEM public key: a file path or an http(s) URL. Without it, --issuer is used for OIDC discovery.")
        var jwks: String?

        @Option(help: "The exact issuer (iss) the token must name; without --jwks, its keys are found through OIDC discovery.")
        var issuer: String?

        @Option(help: "An accepted audience (repeatable); aud must contain one of them. Not checked when absent.")
        var audience: [String] = []

        @Option(help: "An allowed algorithm (repeatable). Default: every supported asymmetric algorithm.")
        var alg: [String] = []

        @Option(help: "Tolerated clock skew in seconds for exp, nbf and iat.")
        var leeway: Double = ClaimsPolicy.defaultLeeway

        @Option(help: "Longest accepted lifetime (exp - iat) in seconds.")
        var maxLifetime: Double?

        @Option(help: "Required typ header (e.g. at+jwt).")
        var typ: String?

        @Flag(help: "Accept tokens without exp.")
        var allowMissingExp = false

        @Flag(help: "Allow fetching the key set over plain http from a non-loopback host.")
        var allowInsecureHTTP = false

        func validate() throws {
            for name in alg {
                do { _ = try JWSAlgorithm.named(name) } catch {
                    throw ValidationError("--alg \(name): \(error.message)")
                }
            }
            guard leeway >= 0, leeway <= 3600 else { throw ValidationError("--leeway must be between 0 and 3600 seconds") }
            guard jwks != nil || issuer != nil else { throw ValidationError("give --jwks, or --issuer for OIDC discovery") }
        }

        func run() async throws {
            let allowed = alg.isEmpty ? JWSAlgorithm.allAsymmetric : Set(alg.compactMap { try? JWSAlgorithm.named($0) })
            let token = try readToken(self.token)
            let policy = ClaimsPolicy(issuer: issuer, audiences: audience.isEmpty ? .any : .oneOf(Set(audience)),
                                      leeway: leeway, requireExpiration: !allowMissingExp,
                                      maxLifetime: maxLifetime, expectedType: typ)
            let outcome: Result<VerifiedJWT, JOSEError>
            if let jwks {
                let keys: JWKS
                do { keys = try await KeySetLoader.load(jwks, allowInsecureHTTP: allowInsecureHTTP) } catch let error as UsageError {
                    FileOutput.standardError.write("error: \(error)\n")
                    throw ExitCode(2)
                }
                let verifier = JWTVerifier(keys: keys, allowedAlgorithms: allowed, claims: policy)
                outcome = Result { () throws(JOSEError) -> VerifiedJWT in try verifier.verify(token) }
            } else {
                outcome = try await verifyWithDiscovery(token, issuer: issuer!, algorithms: allowed, policy: policy)
            }
            var output = JSONObject()
            switch outcome {
            case .success(let verified):
                output["valid"] = true
                output["code"] = "ok"
                output["message"] = .string("signature verified with key \(verified.keyID.map { "\"\($0)\"" } ?? "(no kid)") (\(verified.algorithm.rawValue)); claims accepted")
                output["header"] = .object(verified.header)
                output["claims"] = .object(verified.claims)
                printJSON(.object(output))
            case .failure(let error):
                output["valid"] = false
                output["code"] = .string(error.code.rawValue)
                output["message"] = .string(error.message)
                if let header = try? CompactJWS(token).header { output["header"] = .object(header) }
                printJSON(.object(output))
                throw ExitCode(error.code == .keysUnavailable ? 2 : 1)
            }
        }

        /// `--issuer` without `--jwks`: discovery and key fetch through the Identity module, as
        /// the gateway does it.
        func verifyWithDiscovery(_ token: String, issuer: String, algorithms: Set<JWSAlgorithm>,
                                 policy: ClaimsPolicy) async throws -> Result<VerifiedJWT, JOSEError> {
            let config = IssuerConfig(issuer: issuer, audiences: policy.audiences, algorithms: algorithms, leeway: policy.leeway,
                                      requireExpiration: policy.requireExpiration, maxLifetime: policy.maxLifetime,
                                      requiredType: policy.expectedType, allowInsecureHTTP: allowInsecureHTTP)
            let authenticator = Authenticator(issuers: [config])
            let failed = await authenticator.refreshAll()
            var result: Result<VerifiedJWT, JOSEError> = .failure(JOSEError(.keysUnavailable, "no keys fetched"))
            if failed.isEmpty {
                do { result = .success(try await authenticator.verify(token).token) } catch { result = .failure(error) }
            } else {
                let reason = authenticator.states().first?.lastError ?? "unknown error"
                FileOutput.standardError.write("error: cannot fetch the keys of \(issuer): \(reason)\n")
            }
            try? await authenticator.shutdown()
            guard failed.isEmpty else { throw ExitCode(2) }
            return result
        }
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign claims into a compact JWS (for tests and development).",
            version: Portcullis.version
        )

        @Option(help: "Private key file: PEM (PKCS#8 or traditional) or a private JWK.")
        var key: String

        @Option(help: "Signing algorithm: RS256/384/512, PS256/384/512, ES256/384/512 or EdDSA.")
        var alg: String

        @Option(help: "Key id to put in the header.")
        var kid: String?

        @Option(help: "The claims as a JSON object, or @FILE to read them from a file (@- for stdin).")
        var claims: String

        @Option(help: "Set iat to now and exp to now + this many seconds (unless the claims set them).")
        var expiresIn: Int?

        @Option(help: "The typ header.")
        var typ: String = "JWT"

        func run() throws {
            let algorithm: JWSAlgorithm
            do { algorithm = try JWSAlgorithm.named(alg) } catch {
                throw ValidationError("--alg \(alg): \(error.message)")
            }
            let privateKey = try loadPrivateKey(key)
            let claimsText = claims.hasPrefix("@") ? try InputFiles.read(String(claims.dropFirst()), limit: 1 << 20, what: "claims") : claims
            guard case .object(var claimsObject)? = try? JSONParser.parse(claimsText) else {
                throw ValidationError("--claims must be a JSON object without duplicate members")
            }
            if let expiresIn {
                let now = Int(ClaimsPolicy.now())
                if claimsObject["iat"] == nil { claimsObject["iat"] = .number(JSONNumber(now)) }
                if claimsObject["exp"] == nil { claimsObject["exp"] = .number(JSONNumber(now + expiresIn)) }
            }
            do {
                let token = try JWTSigner.sign(claims: claimsObject, key: privateKey, algorithm: algorithm, kid: kid, type: typ)
                FileOutput.standardOutput.write(token + "\n")
            } catch {
                throw ValidationError(error.message)
            }
        }
    }

    struct KeyGen: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keygen",
            abstract: "Generate a private key (PEM, PKCS#8) for development.",
            version: Portcullis.version
        )

        @Option(help: "rsa, ec-p256, ec-p384, ec-p521 or ed25519.")
        var type: String = "rsa"

        @Option(help: "RSA modulus size in bits.")
        var bits: Int = 2048

        func run() throws {
            let kind: PrivateKey.Kind
            switch type {
            case "rsa":
                guard bits >= PublicKey.minimumRSABits, bits <= 8192 else { throw ValidationError("--bits must be 2048...8192") }
                kind = .rsa(bits: bits)
            case "ec-p256": kind = .ec(.p256)
            case "ec-p384": kind = .ec(.p384)
            case "ec-p521": kind = .ec(.p521)
            case "ed25519": kind = .ed25519
            default: throw ValidationError("--type must be rsa, ec-p256, ec-p384, ec-p521 or ed25519")
            }
            let key = try PrivateKey.generate(kind)
            FileOutput.standardOutput.write(key.pem())
        }
    }

    struct PublicJWKS: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "jwks",
            abstract: "Print the public JWKS for a private key file (PEM or JWK).",
            version: Portcullis.version
        )

        @Option(help: "Private key file: PEM or a private JWK.")
        var key: String

        @Option(help: "Key id.")
        var kid: String?

        @Option(help: "alg to pin in the JWK.")
        var alg: String?

        func run() throws {
            let privateKey = try loadPrivateKey(key)
            var jwk = privateKey.publicKey.jwk()
            jwk["use"] = "sig"
            if let kid { jwk["kid"] = .string(kid) }
            if let alg { jwk["alg"] = .string(alg) }
            printJSON(["keys": [.object(jwk)]])
        }
    }
}

func loadPrivateKey(_ path: String) throws -> PrivateKey {
    let text = try InputFiles.read(path, limit: 1 << 20, what: "private key")
    do {
        if text.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("{") {
            guard case .object(let object)? = try? JSONParser.parse(text) else {
                throw ValidationError("\(path): not a JSON object")
            }
            return try PrivateKey.jwk(object)
        }
        return try PrivateKey.pem(text)
    } catch let error as JOSEError {
        throw ValidationError("\(path): \(error.message)")
    }
}
