import JOSE
import NIOHTTP1

/// Every endpoint of the dev issuer, by method and path (docs/DEV_IDP.md, "Endpoints").
final class IdPRoutes: Sendable {
    let realm: Realm
    let issuer: String
    let keys: SigningKeys
    let tokens: TokenEndpoint
    /// nil without `--test-admin`: the `/admin/test/` endpoints then answer 404.
    let testAdmin: TestAdminState?
    let state = TestAdminState()
    let log: @Sendable (String) -> Void

    init(realm: Realm, issuer: String, keys: SigningKeys, minter: TokenMinter, testAdmin: Bool, log: @escaping @Sendable (String) -> Void) {
        self.realm = realm
        self.issuer = issuer
        self.keys = keys
        self.tokens = TokenEndpoint(realm: realm, minter: minter)
        self.testAdmin = testAdmin ? state : nil
        self.log = log
    }

    func respond(_ request: IdPRequest) -> IdPReply {
        let path = request.path
        if path == "/healthz" || path == "/health" {
            return only([.GET, .HEAD], request) { .json(.ok, ["status": "UP", "checks": []]) }
        }
        if path.hasPrefix("/admin/test/") { return testAdmin(request) }
        let realmPrefix = "/realms/"
        guard path.hasPrefix(realmPrefix) else { return notFound(path) }
        let rest = path.dropFirst(realmPrefix.count)
        let name = rest.prefix { $0 != "/" }
        guard String(name) == realm.name else {
            return .error(.notFound, "Realm does not exist", "For more on this error consult the server log.")
        }
        switch String(rest.dropFirst(name.count)) {
        case "":
            return only([.GET, .HEAD], request) { .json(.ok, Discovery.realmInfo(issuer: self.issuer, realm: self.realm, keys: self.keys)) }
        case "/.well-known/openid-configuration":
            return only([.GET, .HEAD], request) {
                .json(.ok, Discovery.configuration(issuer: self.issuer, realm: self.realm), headers: [("Cache-Control", "no-cache")])
            }
        case "/protocol/openid-connect/certs":
            return only([.GET, .HEAD], request) { self.certificates() }
        case "/protocol/openid-connect/token":
            return only([.POST], request) {
                let outcome = self.tokens.handle(request)
                self.state.counters.withLock { counters in
                    if outcome.issuedTo != nil { counters.tokensIssued += 1 } else { counters.tokenRequestsRefused += 1 }
                }
                if let subject = outcome.issuedTo {
                    self.log("token issued to \(subject) (kid \(self.keys.signing.kid))")
                } else {
                    self.log("token request refused: \(outcome.reply.status.code) \(String(decoding: outcome.reply.body, as: UTF8.self))")
                }
                return outcome.reply
            }
        default:
            return notFound(path)
        }
    }

    /// The JWKS as Keycloak serves it (`Cache-Control: no-cache`), unless the test admin API
    /// made it fail or slow.
    private func certificates() -> IdPReply {
        state.counters.withLock { $0.jwksRequests += 1 }
        switch state.jwksMode.withLock({ $0 }) {
        case .ok:
            return .json(.ok, keys.jwks(), headers: [("Cache-Control", "no-cache")])
        case .fail(let status):
            return .error(HTTPResponseStatus(statusCode: status), "unknown_error", "JWKS failure injected by the test admin API")
        case .slow(let delay):
            var reply = IdPReply.json(.ok, keys.jwks(), headers: [("Cache-Control", "no-cache")])
            reply.delayMilliseconds = delay
            return reply
        }
    }

    private func testAdmin(_ request: IdPRequest) -> IdPReply {
        guard let admin = testAdmin else { return notFound(request.path) }
        switch request.path {
        case "/admin/test/rotate-key":
            return only([.POST], request) {
                let retire: Bool
                switch request.queryValue("retire") {
                case nil, "false"?: retire = false
                case "true"?: retire = true
                case let other?:
                    return .error(.badRequest, "invalid_request", "retire must be true or false, not \"\(other)\"")
                }
                do throws(JOSEError) {
                    let rotated = try self.keys.rotate(retire: retire)
                    admin.counters.withLock { $0.rotations += 1 }
                    self.log("signing key rotated: \(rotated.previous) -> \(rotated.current)\(retire ? " (old keys retired)" : "")")
                    return .json(.ok, ["kid": .string(rotated.current), "previous_kid": .string(rotated.previous),
                                       "retired": .bool(retire), "published": .array(rotated.published.map { .string($0) })])
                } catch {
                    return .error(.internalServerError, "server_error", "key generation failed: \(error.message)")
                }
            }
        case "/admin/test/jwks":
            return only([.POST], request) { admin.setJWKSMode(body: request.body) }
        case "/admin/test/state":
            return only([.GET, .HEAD], request) { self.stateDocument() }
        default:
            return notFound(request.path)
        }
    }

    private func stateDocument() -> IdPReply {
        let counters = state.counters.withLock { $0 }
        return .json(.ok, [
            "realm": .string(realm.name),
            "issuer": .string(issuer),
            "signing_kid": .string(keys.signing.kid),
            "published_kids": .array(keys.publishedKeyIDs.map { .string($0) }),
            "jwks": TestAdminState.describe(state.jwksMode.withLock { $0 }),
            "tokens_issued": .number(JSONNumber(counters.tokensIssued)),
            "token_requests_refused": .number(JSONNumber(counters.tokenRequestsRefused)),
            "jwks_requests": .number(JSONNumber(counters.jwksRequests)),
            "rotations": .number(JSONNumber(counters.rotations)),
        ])
    }

    private func only(_ methods: [HTTPMethod], _ request: IdPRequest, _ body: () -> IdPReply) -> IdPReply {
        guard methods.contains(request.method) else {
            return .error(.methodNotAllowed, "method_not_allowed", "\(request.method.rawValue) is not allowed on \(request.path)",
                          headers: [("Allow", methods.map(\.rawValue).joined(separator: ", "))])
        }
        return body()
    }

    private func notFound(_ path: String) -> IdPReply {
        .error(.notFound, "not_found", "no endpoint \(path)")
    }
}
