import JOSE
import NIOHTTP1

/// `POST /realms/{realm}/protocol/openid-connect/token`: the `password` and
/// `client_credentials` grants, checked in Keycloak's order (TokenEndpoint, client
/// authenticator, grant type) with Keycloak's error codes, descriptions and statuses.
///
/// No refresh token is issued (`refresh_expires_in` is 0), and no ID token even for
/// `scope=openid`: the dev issuer exists to give the gateway access tokens.
struct TokenEndpoint: Sendable {
    let realm: Realm
    let minter: TokenMinter

    /// What a token request produced: the reply, and for logs who got a token.
    struct Outcome {
        var reply: IdPReply
        var issuedTo: String?
    }

    func handle(_ request: IdPRequest) -> Outcome {
        switch process(request) {
        case .success(let (body, subject)):
            return Outcome(reply: .json(.ok, .object(body), headers: Self.noStore), issuedTo: subject)
        case .failure(let error):
            return Outcome(reply: error.reply, issuedTo: nil)
        }
    }

    static let noStore = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]

    struct Failure: Error {
        var reply: IdPReply
        init(_ status: HTTPResponseStatus, _ error: String, _ description: String) {
            reply = .error(status, error, description, headers: TokenEndpoint.noStore)
        }
        init(reply: IdPReply) { self.reply = reply }

        static let invalidClient = Failure(.unauthorized, "invalid_client", "Invalid client or Invalid client credentials")
        static let badClientCredentials = Failure(.unauthorized, "unauthorized_client", "Invalid client or Invalid client credentials")
        static let invalidUserCredentials = Failure(.unauthorized, "invalid_grant", "Invalid user credentials")
    }

    private func process(_ request: IdPRequest) -> Result<(JSONObject, String), Failure> {
        let contentType = request.headers.first(name: "Content-Type")?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard contentType == "application/x-www-form-urlencoded" else {
            return .failure(Failure(.unsupportedMediaType, "invalid_request", "the token endpoint takes application/x-www-form-urlencoded"))
        }
        guard let form = FormBody.parse(request.body) else {
            return .failure(Failure(.badRequest, "invalid_request", "the body is not valid form encoding"))
        }
        func first(_ name: String) -> String? { form.first { $0.0 == name }?.1 }

        guard realm.enabled else { return .failure(Failure(.forbidden, "access_denied", "Realm not enabled")) }
        guard let grantType = first("grant_type") else {
            return .failure(Failure(.badRequest, "invalid_request", "Missing form parameter: grant_type"))
        }
        guard grantType == "password" || grantType == "client_credentials" else {
            return .failure(Failure(.badRequest, "unsupported_grant_type", "Unsupported grant_type"))
        }
        let client: RealmClient
        switch authenticateClient(form: form, authorization: request.headers.first(name: "Authorization")) {
        case .success(let authenticated): client = authenticated
        case .failure(let failure): return .failure(failure)
        }
        if client.bearerOnly { return .failure(Failure(.badRequest, "invalid_client", "Bearer-only not allowed")) }
        var names: Set<String> = []
        for (name, _) in form where !names.insert(name).inserted {
            return .failure(Failure(.badRequest, "invalid_request", "duplicated parameter"))
        }

        let user: RealmUser
        switch grantType == "password" ? passwordUser(form: form, client: client) : serviceAccount(of: client) {
        case .success(let found): user = found
        case .failure(let failure): return .failure(failure)
        }
        guard let scopes = minter.scopes(for: client, requested: first("scope")) else {
            return .failure(Failure(.badRequest, "invalid_scope", "Invalid scopes: \(first("scope") ?? "")"))
        }
        let minted: TokenMinter.Minted
        do throws(JOSEError) {
            minted = try minter.mint(for: user, client: client, scopes: scopes, remoteAddress: request.remoteAddress)
        } catch {
            return .failure(Failure(.internalServerError, "server_error", "signing failed: \(error.message)"))
        }
        var body = JSONObject()
        body["access_token"] = .string(minted.accessToken)
        body["expires_in"] = .number(JSONNumber(minted.expiresIn))
        body["refresh_expires_in"] = 0
        body["token_type"] = "Bearer"
        body["not-before-policy"] = 0
        if let session = minted.sessionID { body["session_state"] = .string(session) }
        body["scope"] = .string(minted.scope)
        return .success((body, user.username))
    }

    /// Keycloak's `client-secret` authenticator: `client_id`/`client_secret` from the form, or
    /// HTTP Basic (form members win, as in Keycloak). Secrets are compared in constant time.
    private func authenticateClient(form: [(String, String)], authorization: String?) -> Result<RealmClient, Failure> {
        func first(_ name: String) -> String? { form.first { $0.0 == name }?.1 }
        var clientId: String? = nil
        var secret: String? = nil
        if let authorization {
            if let basic = FormBody.basicCredentials(authorization) {
                clientId = basic.id
                secret = basic.secret
            } else if first("client_id") == nil {
                // Keycloak answers an unusable Authorization header with a bare Basic challenge.
                return .failure(Failure(reply: IdPReply(status: .unauthorized,
                                                        headers: [("WWW-Authenticate", "Basic realm=\"\(realm.name)\"")] + Self.noStore)))
            }
        }
        if let formId = first("client_id") { clientId = formId }
        if let formSecret = first("client_secret") { secret = formSecret }
        guard let clientId else { return .failure(Failure(.badRequest, "invalid_client", "Missing client_id parameter")) }
        guard let client = realm.client(clientId), client.enabled else { return .failure(.invalidClient) }
        if client.publicClient { return .success(client) }
        guard client.clientAuthenticatorType == "client-secret", let expected = client.secret, let secret else {
            return .failure(.badClientCredentials)
        }
        guard ConstantTime.equals(secret, expected) else { return .failure(.badClientCredentials) }
        return .success(client)
    }

    /// The password grant's checks, in Keycloak's direct-grant order: client allowed, username
    /// present and known, account enabled, then the password.
    private func passwordUser(form: [(String, String)], client: RealmClient) -> Result<RealmUser, Failure> {
        func first(_ name: String) -> String? { form.first { $0.0 == name }?.1 }
        guard client.directAccessGrantsEnabled else {
            return .failure(Failure(.badRequest, "unauthorized_client", "Client not allowed for direct access grants"))
        }
        guard !client.consentRequired else {
            return .failure(Failure(.badRequest, "invalid_client", "Client requires user consent"))
        }
        guard minter.scopes(for: client, requested: first("scope")) != nil else {
            return .failure(Failure(.badRequest, "invalid_scope", "Invalid scopes: \(first("scope") ?? "")"))
        }
        guard let username = first("username") else {
            return .failure(Failure(.unauthorized, "invalid_request", "Missing parameter: username"))
        }
        guard let user = findUser(username) else {
            // Same work as a wrong password, so the answer's timing does not tell which it was.
            _ = ConstantTime.equals(first("password") ?? "", "")
            return .failure(.invalidUserCredentials)
        }
        guard user.enabled else { return .failure(Failure(.badRequest, "invalid_grant", "Account disabled")) }
        guard let expected = user.password, user.serviceAccountClientId == nil, let given = first("password"),
              ConstantTime.equals(given, expected) else {
            return .failure(.invalidUserCredentials)
        }
        return .success(user)
    }

    /// By username (case-insensitive, as Keycloak stores them), else by e-mail when the realm allows it.
    private func findUser(_ name: String) -> RealmUser? {
        let lowered = name.lowercased()
        if let user = realm.users.first(where: { $0.username == lowered }) { return user }
        guard realm.loginWithEmailAllowed else { return nil }
        let matches = realm.users.filter { $0.email == lowered }
        return matches.count == 1 ? matches[0] : nil
    }

    /// The client credentials grant: the client's service account (from the file, or a stable
    /// one with the realm's default roles when the file has none).
    private func serviceAccount(of client: RealmClient) -> Result<RealmUser, Failure> {
        guard !client.publicClient else {
            return .failure(Failure(.unauthorized, "unauthorized_client", "Public client not allowed to retrieve service account"))
        }
        guard client.serviceAccountsEnabled else {
            return .failure(Failure(.unauthorized, "unauthorized_client", "Client not enabled to retrieve service account"))
        }
        let username = "service-account-\(client.clientId)".lowercased()
        let user = realm.users.first { $0.serviceAccountClientId == client.clientId }
            ?? RealmUser(id: Identifiers.stableUUID("service-account:\(realm.name):\(client.clientId)"), username: username,
                         email: nil, firstName: nil, lastName: nil, enabled: true, emailVerified: false, password: nil,
                         roles: [], groups: [], serviceAccountClientId: client.clientId)
        guard user.enabled else {
            return .failure(Failure(.unauthorized, "invalid_request", "User '\(user.username)' disabled"))
        }
        return .success(user)
    }
}
