import JOSE

extension RealmLoader {
    /// One `users[i]`. Refused: a required action, an OTP credential, a hashed or temporary
    /// password, more than one password; each would make the dev issuer hand out tokens the
    /// realm would not (Keycloak would ask for the action, the second factor or a new password).
    static func readUser(_ user: ExportObject, realmName: String, reader: ExportReader) -> RealmUser? {
        var user = user
        guard let rawName = user.string("username"), !rawName.isEmpty else {
            reader.problem(user.path, "a user needs a non-empty \"username\"")
            user.finish()
            return nil
        }
        let username = rawName.lowercased()
        let id = user.string("id") ?? Identifiers.stableUUID("user:\(realmName):\(username)")
        // Keycloak imports a user without "enabled" as disabled.
        let enabled = user.bool("enabled", default: false)
        let emailVerified = user.bool("emailVerified", default: false)
        let email = user.string("email")?.lowercased()
        let firstName = user.string("firstName")
        let lastName = user.string("lastName")
        let serviceAccountClientId = user.string("serviceAccountClientId")

        if let actions = user.stringArray("requiredActions"), !actions.isEmpty {
            reader.problem(user.memberPath("requiredActions"), "user \"\(username)\" has required actions \(actions); Keycloak refuses "
                + "a password grant until they are done (\"Account is not fully set up\"); remove them for a dev user")
        }
        if user.bool("totp", default: false) {
            reader.problem(user.memberPath("totp"), "user \"\(username)\" has OTP configured; the dev issuer cannot check a "
                + "second factor; remove the OTP credential")
        }
        let password = readCredentials(&user, username: username, reader: reader)

        var roles: [RoleRef] = (user.stringArray("realmRoles") ?? []).map { .realm($0) }
        for (clientId, names) in user.stringArrayMap("clientRoles") {
            roles += names.map { .client(clientId: clientId, name: $0) }
        }
        let groups = (user.stringArray("groups") ?? []).map { $0.hasPrefix("/") ? $0 : "/" + $0 }
        user.finish()
        return RealmUser(id: id, username: username, email: email, firstName: firstName, lastName: lastName, enabled: enabled,
                         emailVerified: emailVerified, password: password, roles: roles, groups: groups,
                         serviceAccountClientId: serviceAccountClientId)
    }

    /// The user's plain-text password, if any; problems for what cannot be honoured.
    private static func readCredentials(_ user: inout ExportObject, username: String, reader: ExportReader) -> String? {
        let credentials = user.objects("credentials")
        var passwords: [(path: String, value: String)] = []
        var otpPaths: [String] = []
        var otherTypes = 0
        for credential in credentials {
            var credential = credential
            let type = (credential.string("type") ?? "").lowercased()
            switch type {
            case "password":
                var hashed: String? = nil
                for key in ["hashedSaltedValue", "secretData"] {
                    if let member = credential.value(key), member != .string(""), hashed == nil { hashed = key }
                }
                if let hashed {
                    let algorithm = credential.string("algorithm") ?? hashAlgorithm(credential.object["credentialData"]) ?? "unknown algorithm"
                    reader.problem(credential.memberPath(hashed), "user \"\(username)\" has a hashed password (\(algorithm)) the dev issuer "
                        + "cannot check; replace the credential with {\"type\": \"password\", \"value\": \"...\"}")
                } else if let value = credential.string("value") {
                    passwords.append((credential.path, value))
                } else {
                    reader.problem(credential.path, "user \"\(username)\" has a password credential without a \"value\"")
                }
                if credential.bool("temporary", default: false) {
                    reader.problem(credential.memberPath("temporary"), "user \"\(username)\" has a temporary password; Keycloak "
                        + "would demand a new one before issuing tokens; set \"temporary\": false for a dev user")
                }
            case "otp", "totp", "hotp":
                otpPaths.append(credential.path)
            default:
                // WebAuthn and other credential types are not part of Keycloak's direct grant.
                otherTypes += 1
                reader.ignore(credential.path)
                continue
            }
            credential.finish()
        }
        for path in otpPaths {
            let only = passwords.isEmpty && otherTypes == 0
            reader.problem(path, only
                ? "user \"\(username)\" has an OTP credential as its only credential; the dev issuer cannot check OTP codes"
                : "user \"\(username)\" has an OTP credential (a second factor) the dev issuer cannot check; tokens would be "
                    + "issued on the password alone; remove the OTP credential for a dev user")
        }
        if passwords.count > 1 {
            reader.problem(passwords[1].path, "user \"\(username)\" has more than one password credential")
        }
        return passwords.first?.value
    }

    /// `credentialData` is a JSON document in a string: `{"algorithm": "pbkdf2-sha256", ...}`.
    private static func hashAlgorithm(_ credentialData: JSONValue?) -> String? {
        guard let text = credentialData?.stringValue, let data = try? JSONParser.parse(text) else { return nil }
        return data["algorithm"]?.stringValue
    }
}
