import JOSE

/// The realm's public documents: OIDC discovery (Keycloak's member names, listing only what the
/// dev issuer implements) and the realm's public information at `/realms/{realm}`.
enum Discovery {
    static func configuration(issuer: String, realm: Realm) -> JSONValue {
        let openIDConnect = issuer + "/protocol/openid-connect"
        var scopes = ["openid"]
        for name in (realm.defaultDefaultClientScopes + realm.defaultOptionalClientScopes) where !scopes.contains(name) {
            scopes.append(name)
        }
        return [
            "issuer": .string(issuer),
            "token_endpoint": .string(openIDConnect + "/token"),
            "jwks_uri": .string(openIDConnect + "/certs"),
            "grant_types_supported": ["password", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": .array(scopes.map { .string($0) }),
            "claims_supported": ["aud", "sub", "iss", "name", "given_name", "family_name", "preferred_username", "email",
                                 "email_verified", "acr", "azp", "realm_access", "resource_access", "scope"],
            "claim_types_supported": ["normal"],
        ]
    }

    /// Keycloak's `GET /realms/{realm}`: the current public key as base64 DER.
    static func realmInfo(issuer: String, realm: Realm, keys: SigningKeys) -> JSONValue {
        let pem = keys.signing.key.publicKey.pem()
        let base64 = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return [
            "realm": .string(realm.name),
            "public_key": .string(base64),
            "token-service": .string(issuer + "/protocol/openid-connect"),
            "account-service": .string(issuer + "/account"),
            "tokens-not-before": 0,
        ]
    }
}
