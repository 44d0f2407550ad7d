import Foundation
import JOSE

/// Loads a Keycloak realm export (the JSON of `kc.sh export` or the admin console's partial
/// export). A real export loads as it is: members that do not change how a token is issued are
/// ignored (`Realm.ignoredFields`). Refused, each with its JSON path, is only what would silently
/// weaken or change security if ignored: OTP credentials, required actions, hashed or temporary
/// passwords, role-renaming mappers, a custom direct-grant flow (DESIGN.md, "Dev issuer").
public enum RealmLoader {
    /// Realm exports of large installations run to megabytes; more than this is not a realm file.
    public static let maxFileBytes = 64 << 20

    public static func load(path: String) throws(RealmFileError) -> Realm {
        let data: Data
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw RealmFileError(file: path, problems: [.init(location: "", message: "no such file")])
        }
        guard !isDirectory.boolValue else {
            throw RealmFileError(file: path, problems: [.init(location: "", message: "is a directory, not a realm export")])
        }
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let size = attributes[.size] as? Int, size > maxFileBytes {
                throw RealmFileError(file: path, problems: [.init(location: "", message: "the file is \(size) bytes; at most \(maxFileBytes) are read")])
            }
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as RealmFileError {
            throw error
        } catch {
            throw RealmFileError(file: path, problems: [.init(location: "", message: "cannot read the file: \(error.localizedDescription)")])
        }
        return try parse(Array(data), file: path)
    }

    public static func parse(_ bytes: [UInt8], file: String = "<realm>") throws(RealmFileError) -> Realm {
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes: bytes)
        } catch {
            let (line, column) = RealmFileError.lineAndColumn(of: error.offset, in: bytes)
            throw RealmFileError(file: file, problems: [.init(location: "\(line):\(column)", message: "invalid JSON: \(error.message)")])
        }
        guard let object = document.objectValue else {
            throw RealmFileError(file: file, problems: [.init(location: "1:1", message: "a realm export is a JSON object, not \(document.typeName)")])
        }
        let reader = ExportReader()
        let realm = read(ExportObject(object, path: "", reader: reader), reader: reader)
        guard reader.problems.isEmpty, let realm else {
            throw RealmFileError(file: file, problems: reader.problems)
        }
        return realm
    }

    private static func read(_ root: ExportObject, reader: ExportReader) -> Realm? {
        var root = root
        let name = root.string("realm")
        if name == nil, root.object["realm"] == nil { reader.problem("realm", "the realm name is missing") }
        if let name, name.isEmpty || name.contains("/") { reader.problem("realm", "\"\(name)\" is not a usable realm name") }
        let enabled = root.bool("enabled", default: true)
        var lifespan = root.int("accessTokenLifespan") ?? 300
        if lifespan <= 0 {
            reader.problem("accessTokenLifespan", "must be a positive number of seconds")
            lifespan = 300
        }
        let loginWithEmail = root.bool("loginWithEmailAllowed", default: true)
        if let flow = root.string("directGrantFlow"), flow != "direct grant" {
            reader.problem("directGrantFlow", "the realm uses the custom direct-grant flow \"\(flow)\"; the dev issuer only implements "
                + "Keycloak's built-in \"direct grant\" flow (username and password) and would skip its extra steps")
        }

        var catalog = readRoles(&root, reader: reader)
        let defaultRoles = readDefaultRoles(&root, catalog: &catalog, realmName: name ?? "", reader: reader)
        var groups: [String: RealmGroup] = [:]
        for group in root.objects("groups") { readGroup(group, parentPath: "", parentRoles: [], into: &groups, reader: reader) }
        let scopes = readClientScopes(&root, reader: reader)
        let scopeMappings = readScopeMappings(&root, reader: reader)
        let clients = root.objects("clients").compactMap { readClient($0, reader: reader) }
        let users = root.objects("users").compactMap { readUser($0, realmName: name ?? "", reader: reader) }
        root.finish()

        checkUnique(users.map(\.username), what: "username", path: "users", reader: reader)
        checkUnique(users.map(\.id), what: "user id", path: "users", reader: reader)
        checkUnique(clients.map(\.clientId), what: "clientId", path: "clients", reader: reader)
        for user in users {
            for group in user.groups where groups[group] == nil {
                reader.warn("user \"\(user.username)\" is in group \(group), which the file does not define: it grants no roles")
            }
        }

        guard let name else { return nil }
        return Realm(name: name, enabled: enabled, accessTokenLifespan: lifespan, loginWithEmailAllowed: loginWithEmail,
                     users: users, clients: clients, roles: catalog, defaultRoles: defaultRoles, groups: groups,
                     clientScopes: scopes.scopes, defaultDefaultClientScopes: scopes.defaults,
                     defaultOptionalClientScopes: scopes.optionals, scopeMappings: scopeMappings,
                     ignoredFields: reader.ignored, warnings: reader.warnings)
    }

    private static func checkUnique(_ values: [String], what: String, path: String, reader: ExportReader) {
        var seen: Set<String> = []
        for value in values where !seen.insert(value).inserted {
            reader.problem(path, "the \(what) \"\(value)\" appears more than once")
        }
    }

    // MARK: roles

    /// `roles.realm` and `roles.client`: only names and composites matter.
    private static func readRoles(_ root: inout ExportObject, reader: ExportReader) -> RoleCatalog {
        var catalog = RoleCatalog()
        guard var roles = root.object("roles") else { return catalog }
        for role in roles.objects("realm") {
            if let (name, composites) = readRole(role, reader: reader) { catalog.realm[name] = composites }
        }
        if var clients = roles.object("client") {
            for clientId in clients.object.keys {
                let path = clients.memberPath(clientId)
                guard let array = clients.array(clientId) else { continue }
                var definitions: [String: [RoleRef]] = [:]
                for (index, element) in array.enumerated() {
                    guard let object = element.objectValue else {
                        reader.problem(ExportReader.path(path, index), "must be an object, not \(element.typeName)")
                        continue
                    }
                    let role = ExportObject(object, path: ExportReader.path(path, index), reader: reader)
                    if let (name, composites) = readRole(role, reader: reader) { definitions[name] = composites }
                }
                catalog.client[clientId] = definitions
            }
            clients.finish()
        }
        roles.finish()
        return catalog
    }

    /// One role definition: its name and, when `composite`, the roles it contains.
    static func readRole(_ role: ExportObject, reader: ExportReader) -> (String, [RoleRef])? {
        var role = role
        let name = role.string("name")
        if name == nil { reader.problem(role.path, "a role needs a \"name\"") }
        let composite = role.bool("composite", default: false)
        var composites: [RoleRef] = []
        if var members = role.object("composites") {
            composites = readRoleNames(&members)
            members.finish()
        }
        role.finish()
        guard let name else { return nil }
        return (name, composite ? composites : [])
    }

    /// `{"realm": [names], "client": {clientId: [names]}}` (role composites, group and user roles).
    static func readRoleNames(_ object: inout ExportObject) -> [RoleRef] {
        var refs: [RoleRef] = (object.stringArray("realm") ?? []).map { .realm($0) }
        for (clientId, names) in object.stringArrayMap("client") {
            refs += names.map { .client(clientId: clientId, name: $0) }
        }
        return refs
    }

    /// `defaultRole` (Keycloak 13+: one composite role every user gets, normally also listed in
    /// `roles.realm`) or the older `defaultRoles` list of realm role names.
    private static func readDefaultRoles(_ root: inout ExportObject, catalog: inout RoleCatalog, realmName: String,
                                         reader: ExportReader) -> [RoleRef] {
        var result: [RoleRef] = []
        if let role = root.object("defaultRole"), let (name, composites) = readRole(role, reader: reader) {
            if catalog.realm[name] == nil || catalog.realm[name]!.isEmpty { catalog.realm[name] = composites }
            result.append(.realm(name))
        }
        if let names = root.stringArray("defaultRoles") { result += names.map { .realm($0) } }
        return result
    }

    // MARK: groups

    private static func readGroup(_ group: ExportObject, parentPath: String, parentRoles: [RoleRef],
                                  into groups: inout [String: RealmGroup], reader: ExportReader) {
        var group = group
        guard let name = group.string("name") else {
            reader.problem(group.path, "a group needs a \"name\"")
            group.finish()
            return
        }
        let path = group.string("path") ?? "\(parentPath)/\(name)"
        var roles = parentRoles + (group.stringArray("realmRoles") ?? []).map { RoleRef.realm($0) }
        for (clientId, names) in group.stringArrayMap("clientRoles") {
            roles += names.map { .client(clientId: clientId, name: $0) }
        }
        groups[path] = RealmGroup(path: path, roles: roles)
        for child in group.objects("subGroups") {
            readGroup(child, parentPath: path, parentRoles: roles, into: &groups, reader: reader)
        }
        group.finish()
    }

    // MARK: client scopes and scope mappings

    private static func readClientScopes(_ root: inout ExportObject, reader: ExportReader)
        -> (scopes: [String: ClientScope], defaults: [String], optionals: [String]) {
        let present = root.object["clientScopes"] != nil
        var scopes: [String: ClientScope] = present ? [:] : ClientScope.builtIn
        for scope in root.objects("clientScopes") {
            var scope = scope
            guard let name = scope.string("name") else {
                reader.problem(scope.path, "a client scope needs a \"name\"")
                scope.finish()
                continue
            }
            if let proto = scope.string("protocol"), proto != "openid-connect" {
                scope.finish()
                continue
            }
            var includeInScope = true
            if var attributes = scope.object("attributes") {
                includeInScope = attributes.bool("include.in.token.scope", default: true)
                attributes.finish()
            }
            let audiences = readProtocolMappers(&scope, reader: reader)
            scope.finish()
            scopes[name] = ClientScope(name: name, includeInTokenScope: includeInScope, audienceMappers: audiences)
        }
        let defaults = root.stringArray("defaultDefaultClientScopes") ?? ClientScope.builtInDefaults.filter { scopes[$0] != nil }
        let optionals = root.stringArray("defaultOptionalClientScopes") ?? ClientScope.builtInOptionals.filter { scopes[$0] != nil }
        return (scopes, defaults, optionals)
    }

    /// `protocolMappers` of a client or client scope: audiences from `oidc-audience-mapper`s.
    /// A role-name mapper is refused (ignoring it would put a role into tokens under a name the
    /// realm meant to change); every other mapper only adds claims and is ignored.
    static func readProtocolMappers(_ owner: inout ExportObject, reader: ExportReader) -> [String] {
        var audiences: [String] = []
        for mapper in owner.objects("protocolMappers") {
            var mapper = mapper
            let type = mapper.string("protocolMapper") ?? ""
            switch type {
            case "oidc-audience-mapper":
                var config = mapper.object("config")
                let inAccessToken = config?.bool("access.token.claim", default: true) ?? true
                let client = config?.string("included.client.audience")
                let custom = config?.string("included.custom.audience")
                config?.finish()
                // As Keycloak's AudienceProtocolMapper: the client audience wins over the custom one.
                if inAccessToken, let audience = client ?? custom, !audience.isEmpty { audiences.append(audience) }
                mapper.finish()
            case "oidc-role-name-mapper":
                reader.problem(mapper.path, "a role name mapper renames roles in tokens; the dev issuer does not apply it, "
                    + "so tokens would carry the original role name; remove the mapper or rename the role itself")
                mapper.finish()
            default:
                reader.ignore(mapper.path)
            }
        }
        return audiences
    }

    /// `scopeMappings` (realm roles) and `clientScopeMappings` (client roles), for clients and
    /// client scopes whose `fullScopeAllowed` is false.
    private static func readScopeMappings(_ root: inout ExportObject, reader: ExportReader) -> [ScopeMapping] {
        var mappings: [ScopeMapping] = []
        func owner(_ entry: inout ExportObject) -> ScopeMapping.Owner? {
            if let client = entry.string("client") { return .client(client) }
            if let scope = entry.string("clientScope") { return .clientScope(scope) }
            reader.problem(entry.path, "a scope mapping needs \"client\" or \"clientScope\"")
            return nil
        }
        for entry in root.objects("scopeMappings") {
            var entry = entry
            if let owner = owner(&entry) {
                mappings.append(ScopeMapping(owner: owner, roles: (entry.stringArray("roles") ?? []).map { .realm($0) }))
            }
            entry.finish()
        }
        if var byClient = root.object("clientScopeMappings") {
            for roleClient in byClient.object.keys {
                let path = byClient.memberPath(roleClient)
                guard let array = byClient.array(roleClient) else { continue }
                for (index, element) in array.enumerated() {
                    guard let object = element.objectValue else {
                        reader.problem(ExportReader.path(path, index), "must be an object, not \(element.typeName)")
                        continue
                    }
                    var entry = ExportObject(object, path: ExportReader.path(path, index), reader: reader)
                    if let owner = owner(&entry) {
                        let roles = (entry.stringArray("roles") ?? []).map { RoleRef.client(clientId: roleClient, name: $0) }
                        mappings.append(ScopeMapping(owner: owner, roles: roles))
                    }
                    entry.finish()
                }
            }
            byClient.finish()
        }
        return mappings
    }
}
