import DevIdP
import Testing

@Suite("Realm files")
struct RealmFileTests {
    @Test func devRealmHasTheUsersClientsAndRolesOfThePolicy() throws {
        let realm = try devRealm()
        #expect(realm.name == "systemupdate")
        #expect(realm.enabled)
        #expect(realm.accessTokenLifespan == 300)
        let usernames = Set(realm.users.map(\.username))
        #expect(usernames.isSuperset(of: ["admin", "operator", "viewer", "approver", "disabled"]))
        #expect(realm.users.first { $0.username == "disabled" }?.enabled == false)
        #expect(realm.users.allSatisfy { $0.serviceAccountClientId != nil || $0.password != nil })
        let cli = try #require(realm.client("portcullis-cli"))
        #expect(cli.publicClient && cli.directAccessGrantsEnabled)
        let service = try #require(realm.client("systemupdate-service"))
        #expect(service.serviceAccountsEnabled && service.secret != nil && !service.publicClient)
        #expect(realm.client("portcullis")?.secret != nil)
        // The gateway's audience comes from a default client scope with an audience mapper.
        #expect(realm.clientScopes["portcullis-audience"]?.audienceMappers == ["portcullis"])
        #expect(realm.defaultDefaultClientScopes.contains("portcullis-audience"))
        // Every role the default policy knows exists as a realm role.
        for role in ["admin", "operator", "viewer", "commands-approver", "device", "service"] {
            #expect(realm.roles.realm[role] != nil, "realm role \(role)")
        }
        #expect(realm.roles.client["portcullis"]?["commands-approver"] != nil)
        #expect(realm.warnings.isEmpty)
    }

    @Test func realExportLoadsWithItsOtherSettingsIgnored() throws {
        let loaded = try realm("""
        {"id": "0b8c", "realm": "shop", "enabled": true, "sslRequired": "external", "smtpServer": {"host": "mail"},
         "otpPolicyType": "totp", "browserFlow": "browser", "directGrantFlow": "direct grant",
         "authenticationFlows": [{"alias": "browser", "authenticationExecutions": []}],
         "components": {"org.keycloak.keys.KeyProvider": [{"name": "rsa-generated"}]},
         "attributes": {"frontendUrl": ""}, "keycloakVersion": "25.0.6",
         "roles": {"realm": [{"id": "1", "name": "clerk", "composite": false, "clientRole": false, "containerId": "0b8c"}]},
         "users": [{"id": "u-1", "username": "Alice", "enabled": true, "createdTimestamp": 1, "attributes": {"dept": ["7"]},
                    "credentials": [{"type": "password", "value": "pw", "temporary": false, "userLabel": "My password"},
                                    {"type": "webauthn", "credentialData": "{}"}],
                    "federatedIdentities": [], "realmRoles": ["clerk"], "notBefore": 0}],
         "clients": [{"clientId": "web", "publicClient": true, "directAccessGrantsEnabled": true, "redirectUris": ["/*"],
                      "webOrigins": ["+"], "rootUrl": "https://shop", "attributes": {"pkce.code.challenge.method": "S256"},
                      "protocolMappers": [{"name": "dept", "protocolMapper": "oidc-usermodel-attribute-mapper", "config": {}}]},
                     {"clientId": "saml-app", "protocol": "saml"}]}
        """)
        #expect(loaded.users.map(\.username) == ["alice"])
        #expect(loaded.users[0].password == "pw")
        #expect(loaded.clients.map(\.clientId) == ["web"])
        for path in ["id", "smtpServer", "otpPolicyType", "authenticationFlows", "components", "attributes",
                     "users[0].createdTimestamp", "users[0].attributes", "users[0].credentials[1]",
                     "clients[0].redirectUris", "clients[0].webOrigins", "clients[0].attributes[\"pkce.code.challenge.method\"]",
                     "clients[0].protocolMappers[0]", "clients[1]", "roles.realm[0].containerId"] {
            #expect(loaded.ignoredFields.contains(path), "\(path) should be listed as ignored")
        }
    }

    @Test func realmWithoutRolesOrClientsLoads() throws {
        let loaded = try realm(#"{"realm": "bare"}"#)
        #expect(loaded.users.isEmpty && loaded.clients.isEmpty && loaded.roles.realm.isEmpty)
        // Keycloak's built-in client scopes stand in for a file without clientScopes.
        #expect(loaded.defaultDefaultClientScopes.contains("profile"))
    }

    /// Each refused construct, and the JSON path its message must name.
    static let refusals: [(name: String, json: String, path: String, words: String)] = [
        ("only OTP", #"{"realm":"r","users":[{"username":"u","credentials":[{"type":"otp","secretData":"{}"}]}]}"#,
         "users[0].credentials[0]", "only credential"),
        ("OTP beside a password", #"{"realm":"r","users":[{"username":"u","credentials":[{"type":"password","value":"p"},{"type":"otp"}]}]}"#,
         "users[0].credentials[1]", "second factor"),
        ("totp flag", #"{"realm":"r","users":[{"username":"u","totp":true,"credentials":[{"type":"password","value":"p"}]}]}"#,
         "users[0].totp", "OTP"),
        ("required action", #"{"realm":"r","users":[{"username":"u","requiredActions":["UPDATE_PASSWORD"]}]}"#,
         "users[0].requiredActions", "required actions"),
        ("hashed password", #"{"realm":"r","users":[{"username":"u","credentials":[{"type":"password","secretData":"{\"value\":\"x\",\"salt\":\"y\"}","credentialData":"{\"hashIterations\":27500,\"algorithm\":\"pbkdf2-sha256\"}"}]}]}"#,
         "users[0].credentials[0].secretData", "pbkdf2-sha256"),
        ("legacy hashed password", #"{"realm":"r","users":[{"username":"u","credentials":[{"type":"password","hashedSaltedValue":"abc","algorithm":"pbkdf2"}]}]}"#,
         "users[0].credentials[0].hashedSaltedValue", "hashed"),
        ("temporary password", #"{"realm":"r","users":[{"username":"u","credentials":[{"type":"password","value":"p","temporary":true}]}]}"#,
         "users[0].credentials[0].temporary", "temporary"),
        ("role name mapper", #"{"realm":"r","clients":[{"clientId":"c","protocolMappers":[{"protocolMapper":"oidc-role-name-mapper","config":{}}]}]}"#,
         "clients[0].protocolMappers[0]", "renames roles"),
        ("custom direct grant flow", #"{"realm":"r","directGrantFlow":"my grant"}"#, "directGrantFlow", "my grant"),
        ("duplicate username", #"{"realm":"r","users":[{"username":"u"},{"username":"U"}]}"#, "users", "more than once"),
        ("wrong type", #"{"realm":"r","users":{"username":"u"}}"#, "users", "must be an array"),
        ("missing realm name", #"{"users":[]}"#, "realm", "missing"),
    ]

    @Test(arguments: refusals.indices)
    func refusedConstructIsNamedByItsPath(_ index: Int) {
        let refusal = Self.refusals[index]
        let found = problems(refusal.json)
        #expect(found.contains { $0.location == refusal.path && $0.message.contains(refusal.words) },
                "\(refusal.name): expected a problem at \(refusal.path) mentioning \"\(refusal.words)\", got \(found)")
    }

    @Test func everyProblemIsReportedAtOnce() {
        let found = problems(#"{"realm":"r","users":[{"username":"a","requiredActions":["X"]},{"username":"b","credentials":[{"type":"otp"}]}]}"#)
        #expect(found.map(\.location) == ["users[0].requiredActions", "users[1].credentials[0]"])
    }

    @Test func malformedJSONNamesLineAndColumn() {
        let text = "{\n  \"realm\": \"r\",\n  \"users\": [,]\n}"
        let error = #expect(throws: RealmFileError.self) { try realm(text) }
        #expect(error?.problems.first?.location == "3:13")
        #expect(error?.description.hasPrefix("test.json:3:13: invalid JSON") == true)
    }

    @Test func maskedClientSecretLeavesTheClientUnusableWithAWarning() throws {
        let loaded = try realm(#"{"realm":"r","clients":[{"clientId":"c","secret":"**********"}]}"#)
        #expect(loaded.client("c")?.secret == nil)
        #expect(loaded.warnings.contains { $0.contains("masked") })
    }

    @Test func defaultsFollowKeycloaksImport() throws {
        let loaded = try realm(#"{"realm":"r","users":[{"username":"u"}],"clients":[{"clientId":"c"}]}"#)
        // A user without "enabled" is imported disabled; a client is enabled, confidential, without direct grants.
        #expect(loaded.users[0].enabled == false)
        let client = try #require(loaded.client("c"))
        #expect(client.enabled && !client.publicClient && !client.directAccessGrantsEnabled && client.fullScopeAllowed)
    }
}
