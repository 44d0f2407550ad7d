import DevIdP
import Foundation
import JOSE
import Testing

@Suite("Token endpoint over loopback")
struct TokenEndpointTests {
    @Test func discoveryNamesTheIssuerAndItsEndpoints() async throws {
        try await withIdP() { idp in
            let answer = try await idp.get(idp.issuer + "/.well-known/openid-configuration")
            #expect(answer.status == 200)
            let document = answer.json
            #expect(document["issuer"]?.stringValue == "http://127.0.0.1:\(idp.started.port)/realms/systemupdate")
            #expect(document["jwks_uri"]?.stringValue == idp.certsURL)
            #expect(document["token_endpoint"]?.stringValue == idp.tokenURL)
            #expect(document["grant_types_supported"]?.strings == ["password", "client_credentials"])
            #expect(document["id_token_signing_alg_values_supported"]?.strings == ["RS256"])
            let jwks = try await idp.get(idp.certsURL)
            #expect(jwks.headers.first(name: "Cache-Control") == "no-cache")
            let key = try #require(jwks.json["keys"]?.arrayValue?.first)
            #expect(key["kty"] == "RSA" && key["alg"] == "RS256" && key["use"] == "sig")
            #expect(key["kid"]?.stringValue == idp.keys.signing.kid && key["n"] != nil && key["e"] == "AQAB")
        }
    }

    @Test func passwordGrantTokenVerifiesAndHasKeycloaksClaims() async throws {
        try await withIdP() { idp in
            let realm = try devRealm()
            let answer = try await idp.passwordGrant("operator", "operator-dev-password")
            #expect(answer.status == 200, "\(answer.text)")
            #expect(answer.headers.first(name: "Cache-Control") == "no-store")
            let body = answer.json
            #expect(body["token_type"] == "Bearer" && body["expires_in"] == 300 && body["refresh_expires_in"] == 0)
            #expect(body["not-before-policy"] == 0 && body["scope"] == "profile email" && body["session_state"] != nil)
            let token = try #require(body["access_token"]?.stringValue)

            let verified = try await idp.verify(token)
            #expect(verified.keyID == idp.keys.signing.kid && verified.algorithm == .rs256)
            let claims = verified.claims
            #expect(claims["iss"]?.stringValue == idp.issuer)
            #expect(claims["sub"]?.stringValue == realm.users.first { $0.username == "operator" }?.id)
            #expect(claims["aud"] == "portcullis")
            #expect(claims["azp"] == "portcullis-cli" && claims["typ"] == "Bearer")
            #expect(claims["sid"]?.stringValue == body["session_state"]?.stringValue)
            #expect(claims["realm_access"]?["roles"]?.strings == ["default-roles-systemupdate", "offline_access", "operator", "uma_authorization"])
            #expect(claims["resource_access"] == nil)
            #expect(claims["preferred_username"] == "operator" && claims["email"] == "operator@systemupdate.example")
            #expect(claims["name"] == "Otto Operator" && claims["given_name"] == "Otto" && claims["family_name"] == "Operator")
            #expect(claims["email_verified"] == true && claims["scope"] == "profile email")
            let exp = try #require(verified.expiresAt), iat = try #require(verified.issuedAt)
            #expect(exp - iat == 300)
            #expect(UUID(uuidString: claims["jti"]?.stringValue ?? "") != nil)
        }
    }

    @Test func clientRolesPutTheirClientIntoTheAudience() async throws {
        try await withIdP() { idp in
            let answer = try await idp.passwordGrant("approver", "approver-dev-password")
            let claims = try await idp.verify(try #require(answer.json["access_token"]?.stringValue)).claims
            #expect(claims["resource_access"]?["portcullis"]?["roles"]?.strings == ["commands-approver"])
            #expect(claims["aud"] == "portcullis")
        }
    }

    @Test func confidentialClientPasswordGrantNeedsItsSecret() async throws {
        try await withIdP() { idp in
            let refused = try await idp.passwordGrant("admin", "admin-dev-password", clientId: "portcullis")
            #expect(refused.status == 401 && refused.json["error"] == "unauthorized_client")
            let accepted = try await idp.passwordGrant("admin", "admin-dev-password", clientId: "portcullis",
                                                       extra: [("client_secret", "portcullis-dev-secret")])
            #expect(accepted.status == 200)
            let claims = try await idp.verify(try #require(accepted.json["access_token"]?.stringValue)).claims
            #expect(claims["azp"] == "portcullis" && claims["aud"] == "portcullis")
        }
    }

    @Test func clientCredentialsGiveTheServiceAccountsToken() async throws {
        try await withIdP() { idp in
            let realm = try devRealm()
            for headers in [[basic("systemupdate-service", "systemupdate-service-dev-secret")], []] {
                let form = [("grant_type", "client_credentials")] + (headers.isEmpty
                    ? [("client_id", "systemupdate-service"), ("client_secret", "systemupdate-service-dev-secret")] : [])
                let answer = try await idp.token(form, headers: headers)
                #expect(answer.status == 200, "\(answer.text)")
                #expect(answer.json["session_state"] == nil && answer.json["refresh_expires_in"] == 0)
                let claims = try await idp.verify(try #require(answer.json["access_token"]?.stringValue)).claims
                #expect(claims["sub"]?.stringValue == realm.users.first { $0.serviceAccountClientId == "systemupdate-service" }?.id)
                #expect(claims["preferred_username"] == "service-account-systemupdate-service")
                #expect(claims["azp"] == "systemupdate-service" && claims["client_id"] == "systemupdate-service")
                #expect(claims["realm_access"]?["roles"]?.strings.contains("service") == true)
                #expect(claims["clientAddress"] == "127.0.0.1" && claims["sid"] == nil)
            }
        }
    }

    @Test func serviceAccountWithoutAUserInTheFileGetsAStableSubject() async throws {
        let loaded = try realm(#"{"realm":"r","clients":[{"clientId":"svc","secret":"s","serviceAccountsEnabled":true}]}"#)
        try await withIdP(loaded) { idp in
            var subjects: [String] = []
            for _ in 0..<2 {
                let answer = try await idp.token([("grant_type", "client_credentials"), ("client_id", "svc"), ("client_secret", "s")])
                let claims = try await idp.verify(try #require(answer.json["access_token"]?.stringValue), audience: nil).claims
                // No audience mapper in this realm: Keycloak would issue no aud either.
                #expect(claims["aud"] == nil && claims["preferred_username"] == "service-account-svc")
                subjects.append(claims["sub"]?.stringValue ?? "")
            }
            #expect(subjects[0] == subjects[1] && UUID(uuidString: subjects[0]) != nil)
        }
    }

    /// Keycloak's answers to bad token requests: status, `error`, `error_description`.
    static let refusals: [(name: String, form: [(String, String)], headers: [(String, String)], status: Int, error: String, description: String)] = [
        ("wrong password", [("grant_type", "password"), ("client_id", "portcullis-cli"), ("username", "operator"), ("password", "nope")], [],
         401, "invalid_grant", "Invalid user credentials"),
        ("unknown user", [("grant_type", "password"), ("client_id", "portcullis-cli"), ("username", "mallory"), ("password", "x")], [],
         401, "invalid_grant", "Invalid user credentials"),
        ("missing password", [("grant_type", "password"), ("client_id", "portcullis-cli"), ("username", "operator")], [],
         401, "invalid_grant", "Invalid user credentials"),
        ("missing username", [("grant_type", "password"), ("client_id", "portcullis-cli"), ("password", "x")], [],
         401, "invalid_request", "Missing parameter: username"),
        ("disabled user", [("grant_type", "password"), ("client_id", "portcullis-cli"), ("username", "disabled"), ("password", "disabled-dev-password")], [],
         400, "invalid_grant", "Account disabled"),
        ("service account cannot log in with a password", [("grant_type", "password"), ("client_id", "portcullis-cli"),
         ("username", "service-account-systemupdate-service"), ("password", "")], [], 401, "invalid_grant", "Invalid user credentials"),
        ("unknown client", [("grant_type", "client_credentials"), ("client_id", "nobody"), ("client_secret", "x")], [],
         401, "invalid_client", "Invalid client or Invalid client credentials"),
        ("bad secret", [("grant_type", "client_credentials"), ("client_id", "systemupdate-service"), ("client_secret", "wrong")], [],
         401, "unauthorized_client", "Invalid client or Invalid client credentials"),
        ("bad secret by Basic", [("grant_type", "client_credentials")], [basic("systemupdate-service", "wrong")],
         401, "unauthorized_client", "Invalid client or Invalid client credentials"),
        ("missing secret", [("grant_type", "client_credentials"), ("client_id", "systemupdate-service")], [],
         401, "unauthorized_client", "Invalid client or Invalid client credentials"),
        ("missing client", [("grant_type", "password"), ("username", "operator"), ("password", "operator-dev-password")], [],
         400, "invalid_client", "Missing client_id parameter"),
        ("unsupported grant", [("grant_type", "authorization_code"), ("client_id", "portcullis-cli"), ("code", "x")], [],
         400, "unsupported_grant_type", "Unsupported grant_type"),
        ("missing grant", [("client_id", "portcullis-cli")], [], 400, "invalid_request", "Missing form parameter: grant_type"),
        ("direct grants disabled", [("grant_type", "password"), ("client_id", "systemupdate-service"), ("client_secret", "systemupdate-service-dev-secret"),
                                    ("username", "operator"), ("password", "operator-dev-password")], [],
         400, "unauthorized_client", "Client not allowed for direct access grants"),
        ("public client without service account", [("grant_type", "client_credentials"), ("client_id", "portcullis-cli")], [],
         401, "unauthorized_client", "Public client not allowed to retrieve service account"),
        ("confidential client without service account", [("grant_type", "client_credentials"), ("client_id", "portcullis"),
                                                         ("client_secret", "portcullis-dev-secret")], [],
         401, "unauthorized_client", "Client not enabled to retrieve service account"),
        ("scope the client may not ask for", [("grant_type", "password"), ("client_id", "portcullis-cli"), ("username", "operator"),
                                              ("password", "operator-dev-password"), ("scope", "openid admin-everything")], [],
         400, "invalid_scope", "Invalid scopes: openid admin-everything"),
        ("duplicated parameter", [("grant_type", "password"), ("client_id", "portcullis-cli"), ("username", "operator"),
                                  ("username", "admin"), ("password", "operator-dev-password")], [],
         400, "invalid_request", "duplicated parameter"),
    ]

    @Test(arguments: refusals.indices)
    func badTokenRequestGetsKeycloaksError(_ index: Int) async throws {
        let refusal = Self.refusals[index]
        try await withIdP() { idp in
            let answer = try await idp.token(refusal.form, headers: refusal.headers)
            #expect(answer.status == refusal.status, "\(refusal.name): \(answer.text)")
            #expect(answer.json["error"]?.stringValue == refusal.error, "\(refusal.name)")
            #expect(answer.json["error_description"]?.stringValue == refusal.description, "\(refusal.name)")
            #expect(answer.json["access_token"] == nil)
        }
    }

    @Test func malformedOrOversizedRequestsAreRefusedWithoutAToken() async throws {
        try await withIdP() { idp in
            let badEscape = try await idp.request(.POST, idp.tokenURL, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                                  body: Array("grant_type=%zz&client_id=portcullis-cli".utf8))
            #expect(badEscape.status == 400 && badEscape.json["error"] == "invalid_request")
            let json = try await idp.request(.POST, idp.tokenURL, headers: [("Content-Type", "application/json")],
                                             body: Array(#"{"grant_type":"password"}"#.utf8))
            #expect(json.status == 415)
            let huge = try await idp.request(.POST, idp.tokenURL, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                             body: [UInt8](repeating: UInt8(ascii: "a"), count: 70_000))
            #expect(huge.status == 413)
            let get = try await idp.get(idp.tokenURL)
            #expect(get.status == 405 && get.headers.first(name: "Allow") == "POST")
            let otherRealm = try await idp.get(idp.base + "/realms/master/.well-known/openid-configuration")
            #expect(otherRealm.status == 404 && otherRealm.json["error"] == "Realm does not exist")
        }
    }

    @Test func tokenLifespanFlagOverridesTheRealm() async throws {
        try await withIdP(tokenLifespan: 42) { idp in
            let answer = try await idp.passwordGrant("viewer", "viewer-dev-password")
            #expect(answer.json["expires_in"] == 42)
            let verified = try await idp.verify(try #require(answer.json["access_token"]?.stringValue))
            #expect(try #require(verified.expiresAt) - (try #require(verified.issuedAt)) == 42)
        }
    }

    @Test func realmWithoutRolesAndAPublicDirectGrantClientIssuesTokens() async throws {
        let loaded = try realm("""
        {"realm": "plain", "users": [{"username": "pat", "enabled": true, "credentials": [{"type": "password", "value": "pw"}]}],
         "clients": [{"clientId": "app", "publicClient": true, "directAccessGrantsEnabled": true}]}
        """)
        try await withIdP(loaded) { idp in
            let answer = try await idp.passwordGrant("pat", "pw", clientId: "app")
            #expect(answer.status == 200, "\(answer.text)")
            let token = try #require(answer.json["access_token"]?.stringValue)
            // No audience mapper and no client roles: no aud at all, as Keycloak would issue it.
            let claims = try CompactJWS(token).claims()
            #expect(claims["aud"] == nil && claims["realm_access"] == nil && claims["preferred_username"] == "pat")
        }
    }

    @Test func disabledRealmIssuesNoTokens() async throws {
        let loaded = try realm("""
        {"realm": "off", "enabled": false, "users": [{"username": "u", "enabled": true, "credentials": [{"type": "password", "value": "pw"}]}],
         "clients": [{"clientId": "app", "publicClient": true, "directAccessGrantsEnabled": true}]}
        """)
        try await withIdP(loaded) { idp in
            let answer = try await idp.passwordGrant("u", "pw", clientId: "app")
            #expect(answer.status == 403 && answer.json["error"] == "access_denied" && answer.json["access_token"] == nil)
        }
    }

    @Test func fullScopeDisabledLimitsRolesToTheClientsScope() async throws {
        let loaded = try realm("""
        {"realm": "r", "roles": {"realm": [{"name": "reader"}, {"name": "admin"}]},
         "users": [{"username": "u", "enabled": true, "realmRoles": ["reader", "admin"], "credentials": [{"type": "password", "value": "pw"}]}],
         "clients": [{"clientId": "narrow", "publicClient": true, "directAccessGrantsEnabled": true, "fullScopeAllowed": false}],
         "scopeMappings": [{"client": "narrow", "roles": ["reader"]}]}
        """)
        try await withIdP(loaded) { idp in
            let answer = try await idp.passwordGrant("u", "pw", clientId: "narrow")
            let claims = try CompactJWS(try #require(answer.json["access_token"]?.stringValue)).claims()
            #expect(claims["realm_access"]?["roles"]?.strings == ["reader"])
        }
    }
}
