import JOSE

extension RealmLoader {
    /// A placeholder the admin console writes instead of a client secret in partial exports.
    static let maskedSecret = "**********"

    /// One `clients[i]` (OpenID Connect clients only; SAML clients are ignored). Defaults are
    /// Keycloak's on import: enabled, confidential, full scope allowed, no direct access grants,
    /// no service account, `client-secret` authentication.
    static func readClient(_ client: ExportObject, reader: ExportReader) -> RealmClient? {
        var client = client
        guard let clientId = client.string("clientId"), !clientId.isEmpty else {
            reader.problem(client.path, "a client needs a non-empty \"clientId\"")
            client.finish()
            return nil
        }
        if let proto = client.string("protocol"), proto != "openid-connect" {
            reader.ignore(client.path)
            return nil
        }
        var secret = client.string("secret")
        if let value = secret, value == maskedSecret || value.hasPrefix("${vault.") || value.isEmpty {
            reader.warn("client \"\(clientId)\" has no usable secret (\(value.isEmpty ? "empty" : value == maskedSecret ? "masked in the export" : "a vault reference")): "
                + "it cannot authenticate until a real secret is set in the realm file")
            secret = nil
        }
        let authenticator = client.string("clientAuthenticatorType") ?? "client-secret"
        let publicClient = client.bool("publicClient", default: false)
        if authenticator != "client-secret", !publicClient {
            reader.warn("client \"\(clientId)\" authenticates with \(authenticator); only client-secret is supported, so it cannot "
                + "obtain tokens from the dev issuer")
        }
        var lifespan: Int? = nil
        if var attributes = client.object("attributes") {
            if let text = attributes.string("access.token.lifespan"), !text.isEmpty {
                if let seconds = Int(text), seconds > 0 {
                    lifespan = seconds
                } else {
                    reader.problem(attributes.memberPath("access.token.lifespan"), "must be a positive number of seconds, not \"\(text)\"")
                }
            }
            attributes.finish()
        }
        let result = RealmClient(
            clientId: clientId, secret: secret,
            enabled: client.bool("enabled", default: true),
            publicClient: publicClient,
            bearerOnly: client.bool("bearerOnly", default: false),
            serviceAccountsEnabled: client.bool("serviceAccountsEnabled", default: false),
            directAccessGrantsEnabled: client.bool("directAccessGrantsEnabled", default: false),
            consentRequired: client.bool("consentRequired", default: false),
            fullScopeAllowed: client.bool("fullScopeAllowed", default: true),
            clientAuthenticatorType: authenticator,
            defaultClientScopes: client.stringArray("defaultClientScopes"),
            optionalClientScopes: client.stringArray("optionalClientScopes"),
            audienceMappers: readProtocolMappers(&client, reader: reader),
            accessTokenLifespan: lifespan)
        client.finish()
        return result
    }
}
