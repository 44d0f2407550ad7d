/// Which roles a token carries, as Keycloak computes them: the user's own roles, those of their
/// groups (and parent groups) and the realm's default roles, expanded through composite roles;
/// then, for a client with `fullScopeAllowed: false`, only those within the client's scope
/// (its own roles, plus the scope mappings of the client and its applied client scopes).
struct RoleResolver: Sendable {
    let realm: Realm

    func effectiveRoles(of user: RealmUser) -> Set<RoleRef> {
        var direct = user.roles + realm.defaultRoles
        for path in user.groups { direct += realm.groups[path]?.roles ?? [] }
        return expand(direct)
    }

    /// The roles and everything their composites contain (cycles are harmless).
    func expand(_ roles: [RoleRef]) -> Set<RoleRef> {
        var result: Set<RoleRef> = []
        var pending = roles
        while let role = pending.popLast() {
            guard result.insert(role).inserted else { continue }
            pending += realm.roles.composites(of: role)
        }
        return result
    }

    /// The roles `client` may put into a token with these client scopes applied; nil: all of them.
    func scope(of client: RealmClient, appliedScopes: [String]) -> Set<RoleRef>? {
        guard !client.fullScopeAllowed else { return nil }
        var allowed: [RoleRef] = (realm.roles.client[client.clientId] ?? [:]).keys.map { .client(clientId: client.clientId, name: $0) }
        let owners: Set<ScopeMapping.Owner> = Set([.client(client.clientId)] + appliedScopes.map { .clientScope($0) })
        for mapping in realm.scopeMappings where owners.contains(mapping.owner) { allowed += mapping.roles }
        return expand(allowed)
    }

    /// `realm_access.roles` and `resource_access` in the order people read them (sorted).
    static func split(_ roles: Set<RoleRef>) -> (realm: [String], clients: [(String, [String])]) {
        var realmRoles: [String] = []
        var clientRoles: [String: [String]] = [:]
        for role in roles {
            switch role {
            case .realm(let name): realmRoles.append(name)
            case .client(let clientId, let name): clientRoles[clientId, default: []].append(name)
            }
        }
        return (realmRoles.sorted(), clientRoles.keys.sorted().map { ($0, clientRoles[$0]!.sorted()) })
    }
}
