/// The parts of a Keycloak realm export that decide how a token is issued (docs/DEV_IDP.md,
/// "Realm files"). Everything else in an export (themes, flows, redirect URIs, ...) is listed in
/// `ignoredFields` and has no effect.
public struct Realm: Sendable {
    public var name: String
    /// A disabled realm answers the token endpoint with 403 `access_denied`, as Keycloak does.
    public var enabled: Bool
    /// `accessTokenLifespan`, in seconds (Keycloak's default: 300).
    public var accessTokenLifespan: Int
    /// `loginWithEmailAllowed` (default true): the password grant also finds users by e-mail.
    public var loginWithEmailAllowed: Bool
    public var users: [RealmUser]
    public var clients: [RealmClient]
    public var roles: RoleCatalog
    /// Roles every user and service account has (`defaultRole` with its composites, or the older
    /// `defaultRoles` list).
    public var defaultRoles: [RoleRef]
    /// Groups by path (`/parent/child`), each with the roles it grants.
    public var groups: [String: RealmGroup]
    /// Client scopes by name. Without `clientScopes` in the file, Keycloak's built-in defaults apply.
    public var clientScopes: [String: ClientScope]
    public var defaultDefaultClientScopes: [String]
    public var defaultOptionalClientScopes: [String]
    /// Roles a client (or client scope) may put into tokens when its `fullScopeAllowed` is false.
    public var scopeMappings: [ScopeMapping]
    /// JSON paths of members present in the file that have no effect here (logged at debug level).
    public var ignoredFields: [String]
    /// Things that do not stop the file from loading but make a user or client unusable
    /// (fail closed), e.g. a masked client secret.
    public var warnings: [String]

    public func client(_ clientId: String) -> RealmClient? { clients.first { $0.clientId == clientId } }
}

/// A role: realm-level, or belonging to a client.
public enum RoleRef: Hashable, Sendable, CustomStringConvertible {
    case realm(String)
    case client(clientId: String, name: String)

    public var description: String {
        switch self {
        case .realm(let name): name
        case .client(let clientId, let name): "\(clientId):\(name)"
        }
    }
}

/// Role definitions: only composites matter (a composite role grants the roles it contains).
public struct RoleCatalog: Sendable {
    public var realm: [String: [RoleRef]] = [:]
    public var client: [String: [String: [RoleRef]]] = [:]

    public init() {}

    func composites(of role: RoleRef) -> [RoleRef] {
        switch role {
        case .realm(let name): realm[name] ?? []
        case .client(let clientId, let name): client[clientId]?[name] ?? []
        }
    }
}

public struct RealmUser: Sendable {
    /// The `sub` of the user's tokens (`id` in the file; a stable UUID from the username when absent).
    public var id: String
    /// Lower-cased, as Keycloak stores usernames.
    public var username: String
    public var email: String?
    public var firstName: String?
    public var lastName: String?
    public var enabled: Bool
    public var emailVerified: Bool
    /// The plain-text password from a `{"type": "password", "value": ...}` credential; nil: no
    /// password grant is possible for this user.
    public var password: String?
    public var roles: [RoleRef]
    /// Group paths (`/ops/night-shift`).
    public var groups: [String]
    /// Set for the service account of a client (`service-account-<clientId>`).
    public var serviceAccountClientId: String?
}

public struct RealmClient: Sendable {
    public var clientId: String
    /// The client secret, when the client can authenticate with one (a masked `**********` or a
    /// vault reference is not a secret: the client then cannot authenticate).
    public var secret: String?
    public var enabled: Bool
    public var publicClient: Bool
    public var bearerOnly: Bool
    public var serviceAccountsEnabled: Bool
    public var directAccessGrantsEnabled: Bool
    public var consentRequired: Bool
    public var fullScopeAllowed: Bool
    /// Only `client-secret` authentication is supported; a client configured for another
    /// authenticator (signed JWT, X.509) cannot authenticate here.
    public var clientAuthenticatorType: String
    /// nil: the realm's `defaultDefaultClientScopes`.
    public var defaultClientScopes: [String]?
    public var optionalClientScopes: [String]?
    /// Audiences added by the client's own `oidc-audience-mapper`s.
    public var audienceMappers: [String]
    /// The client attribute `access.token.lifespan`, in seconds.
    public var accessTokenLifespan: Int?
}

public struct RealmGroup: Sendable {
    public var path: String
    public var roles: [RoleRef]
}

public struct ClientScope: Sendable {
    public var name: String
    /// Whether the scope's name goes into the token's `scope` claim (`include.in.token.scope`).
    public var includeInTokenScope: Bool
    /// Audiences added by the scope's `oidc-audience-mapper`s.
    public var audienceMappers: [String]

    /// Keycloak's built-in scopes, used when the file has no `clientScopes`.
    static let builtIn: [String: ClientScope] = {
        var scopes: [String: ClientScope] = [:]
        for (name, inScope) in [("profile", true), ("email", true), ("roles", false), ("web-origins", false), ("acr", false),
                                ("basic", false), ("address", true), ("phone", true), ("offline_access", true),
                                ("microprofile-jwt", true)] {
            scopes[name] = ClientScope(name: name, includeInTokenScope: inScope, audienceMappers: [])
        }
        return scopes
    }()
    static let builtInDefaults = ["profile", "email", "roles", "web-origins", "acr", "basic"]
    static let builtInOptionals = ["address", "phone", "offline_access", "microprofile-jwt"]
}

/// One entry of `scopeMappings` or `clientScopeMappings`: roles that `client` (or `clientScope`)
/// may carry in its tokens when `fullScopeAllowed` is false.
public struct ScopeMapping: Sendable {
    public enum Owner: Hashable, Sendable {
        case client(String)
        case clientScope(String)
    }
    public var owner: Owner
    public var roles: [RoleRef]
}
