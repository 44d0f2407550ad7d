import JOSE

/// Reads members of a realm export with their JSON paths: a member of the wrong type is a problem
/// (named by its path), a member nobody asked for is recorded as ignored.
final class ExportReader {
    private(set) var problems: [RealmFileError.Problem] = []
    private(set) var ignored: [String] = []
    private(set) var warnings: [String] = []

    func problem(_ path: String, _ message: String) {
        problems.append(RealmFileError.Problem(location: path, message: message))
    }

    func ignore(_ path: String) { ignored.append(path) }
    func warn(_ message: String) { warnings.append(message) }

    /// `users[2]`, `clientRoles.portcullis`, `attributes["access.token.lifespan"]`.
    static func path(_ base: String, _ key: String) -> String {
        let plain = !key.isEmpty && key.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || byte == 0x5F || byte == 0x2D
        }
        if plain { return base.isEmpty ? key : "\(base).\(key)" }
        return "\(base)[\(JSONValue.string(key).serialized())]"
    }

    static func path(_ base: String, _ index: Int) -> String { "\(base)[\(index)]" }
}

/// One JSON object of the export, read member by member; `finish()` records what was not read.
struct ExportObject {
    let object: JSONObject
    let path: String
    let reader: ExportReader
    private var read: Set<String> = []

    init(_ object: JSONObject, path: String, reader: ExportReader) {
        self.object = object
        self.path = path
        self.reader = reader
    }

    /// Records every member not read as ignored.
    func finish() {
        for key in object.keys where !read.contains(key) { reader.ignore(ExportReader.path(path, key)) }
    }

    func memberPath(_ key: String) -> String { ExportReader.path(path, key) }

    /// The raw member (null counts as absent, as in Keycloak's representations).
    mutating func value(_ key: String) -> JSONValue? {
        read.insert(key)
        guard let value = object[key], value != .null else { return nil }
        return value
    }

    mutating func string(_ key: String) -> String? {
        guard let value = value(key) else { return nil }
        guard let string = value.stringValue else {
            reader.problem(memberPath(key), "must be a string, not \(value.typeName)")
            return nil
        }
        return string
    }

    mutating func bool(_ key: String, default fallback: Bool) -> Bool {
        guard let value = value(key) else { return fallback }
        switch value {
        case .bool(let b): return b
        // Keycloak's attribute maps spell booleans as strings; accept them where a boolean is due.
        case .string("true"): return true
        case .string("false"): return false
        default:
            reader.problem(memberPath(key), "must be true or false, not \(value.typeName)")
            return fallback
        }
    }

    mutating func int(_ key: String) -> Int? {
        guard let value = value(key) else { return nil }
        guard let number = value.numberValue, number.double.rounded() == number.double, abs(number.double) < 1e15 else {
            reader.problem(memberPath(key), "must be an integer, not \(value.typeName == "number" ? "a fraction" : value.typeName)")
            return nil
        }
        return Int(number.double)
    }

    mutating func array(_ key: String) -> [JSONValue]? {
        guard let value = value(key) else { return nil }
        guard let array = value.arrayValue else {
            reader.problem(memberPath(key), "must be an array, not \(value.typeName)")
            return nil
        }
        return array
    }

    mutating func stringArray(_ key: String) -> [String]? {
        guard let array = array(key) else { return nil }
        var strings: [String] = []
        for (index, element) in array.enumerated() {
            guard let string = element.stringValue else {
                reader.problem(ExportReader.path(memberPath(key), index), "must be a string, not \(element.typeName)")
                continue
            }
            strings.append(string)
        }
        return strings
    }

    mutating func object(_ key: String) -> ExportObject? {
        guard let value = value(key) else { return nil }
        guard let object = value.objectValue else {
            reader.problem(memberPath(key), "must be an object, not \(value.typeName)")
            return nil
        }
        return ExportObject(object, path: memberPath(key), reader: reader)
    }

    /// Each element of an array of objects, with its path; non-objects are problems.
    mutating func objects(_ key: String) -> [ExportObject] {
        guard let array = array(key) else { return [] }
        var result: [ExportObject] = []
        for (index, element) in array.enumerated() {
            let elementPath = ExportReader.path(memberPath(key), index)
            guard let object = element.objectValue else {
                reader.problem(elementPath, "must be an object, not \(element.typeName)")
                continue
            }
            result.append(ExportObject(object, path: elementPath, reader: reader))
        }
        return result
    }

    /// `{"name": ["a", "b"]}` maps (clientRoles, composites.client).
    mutating func stringArrayMap(_ key: String) -> [(String, [String])] {
        guard var map = object(key) else { return [] }
        var result: [(String, [String])] = []
        for name in map.object.keys {
            if let values = map.stringArray(name) { result.append((name, values)) }
        }
        return result
    }
}
