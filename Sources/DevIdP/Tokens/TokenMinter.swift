import JOSE

/// Builds and signs access tokens shaped like Keycloak's (docs/DEV_IDP.md, "Tokens").
///
/// `aud` follows Keycloak's two mappers: every client the token carries client roles of (except
/// the requesting client itself), plus each audience that an `oidc-audience-mapper` on the
/// client or on one of its applied client scopes names. The dev realm puts the gateway's
/// audience `portcullis` into a default client scope, so every user's and service account's
/// token carries it.
struct TokenMinter: Sendable {
    let realm: Realm
    let issuer: String
    let keys: SigningKeys
    /// `--token-lifespan`: wins over the realm's and the client's lifespans.
    let lifespanOverride: Int?
    let clock: @Sendable () -> Double

    struct AppliedScopes {
        /// Client scope names whose mappers apply (default scopes, then requested optional ones).
        var names: [String]
        /// The token's `scope` claim.
        var claim: String
    }

    struct Minted {
        var accessToken: String
        var expiresIn: Int
        var scope: String
        var sessionID: String?
        var kid: String
    }

    /// The client scopes a token request gets; nil when `requested` names a scope the client
    /// may not ask for (Keycloak: 400 `invalid_scope`).
    func scopes(for client: RealmClient, requested: String?) -> AppliedScopes? {
        let defaults = (client.defaultClientScopes ?? realm.defaultDefaultClientScopes).filter { realm.clientScopes[$0] != nil }
        let optionals = (client.optionalClientScopes ?? realm.defaultOptionalClientScopes).filter { realm.clientScopes[$0] != nil }
        let asked = (requested ?? "").split(whereSeparator: { $0 == " " }).map(String.init)
        var names = defaults
        for scope in asked where scope != "openid" {
            guard defaults.contains(scope) || optionals.contains(scope) else { return nil }
            if !names.contains(scope) { names.append(scope) }
        }
        var claim = asked.contains("openid") ? ["openid"] : []
        claim += names.filter { realm.clientScopes[$0]?.includeInTokenScope == true }
        return AppliedScopes(names: names, claim: claim.joined(separator: " "))
    }

    func lifespan(for client: RealmClient) -> Int {
        lifespanOverride ?? client.accessTokenLifespan ?? realm.accessTokenLifespan
    }

    /// Signs a token for `user` (a person, or the service account of `client`).
    func mint(for user: RealmUser, client: RealmClient, scopes: AppliedScopes, remoteAddress: String?) throws(JOSEError) -> Minted {
        let now = Int(clock())
        let lifespan = lifespan(for: client)
        let resolver = RoleResolver(realm: realm)
        var roles = resolver.effectiveRoles(of: user)
        if let allowed = resolver.scope(of: client, appliedScopes: scopes.names) { roles.formIntersection(allowed) }
        let (realmRoles, clientRoles) = RoleResolver.split(roles)
        let isServiceAccount = user.serviceAccountClientId != nil
        let sessionID = isServiceAccount ? nil : Identifiers.randomUUID()

        var audiences: [String] = []
        for (clientId, names) in clientRoles where clientId != client.clientId && !names.isEmpty { audiences.append(clientId) }
        audiences += client.audienceMappers
        for name in scopes.names { audiences += realm.clientScopes[name]?.audienceMappers ?? [] }
        var seen: Set<String> = []
        audiences = audiences.filter { seen.insert($0).inserted }

        var claims = JSONObject()
        claims["exp"] = .number(JSONNumber(now + lifespan))
        claims["iat"] = .number(JSONNumber(now))
        claims["jti"] = .string(Identifiers.randomUUID())
        claims["iss"] = .string(issuer)
        if audiences.count == 1 { claims["aud"] = .string(audiences[0]) }
        if audiences.count > 1 { claims["aud"] = .array(audiences.map { .string($0) }) }
        claims["sub"] = .string(user.id)
        claims["typ"] = "Bearer"
        claims["azp"] = .string(client.clientId)
        if let sessionID { claims["sid"] = .string(sessionID) }
        claims["acr"] = "1"
        if !realmRoles.isEmpty { claims["realm_access"] = ["roles": .array(realmRoles.map { .string($0) })] }
        if !clientRoles.isEmpty {
            var access = JSONObject()
            for (clientId, names) in clientRoles { access[clientId] = ["roles": .array(names.map { .string($0) })] }
            claims["resource_access"] = .object(access)
        }
        claims["scope"] = .string(scopes.claim)
        if isServiceAccount {
            claims["client_id"] = .string(client.clientId)
            if let remoteAddress {
                claims["clientHost"] = .string(remoteAddress)
                claims["clientAddress"] = .string(remoteAddress)
            }
        }
        if scopes.names.contains("email") { claims["email_verified"] = .bool(user.emailVerified) }
        if scopes.names.contains("profile") {
            let name = [user.firstName, user.lastName].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            if !name.isEmpty { claims["name"] = .string(name) }
        }
        claims["preferred_username"] = .string(user.username)
        if scopes.names.contains("profile") {
            if let given = user.firstName, !given.isEmpty { claims["given_name"] = .string(given) }
            if let family = user.lastName, !family.isEmpty { claims["family_name"] = .string(family) }
        }
        if scopes.names.contains("email"), let email = user.email { claims["email"] = .string(email) }

        let key = keys.signing
        let token = try JWTSigner.sign(claims: claims, key: key.key, algorithm: .rs256, kid: key.kid, type: "JWT")
        return Minted(accessToken: token, expiresIn: lifespan, scope: scopes.claim, sessionID: sessionID, kid: key.kid)
    }
}
