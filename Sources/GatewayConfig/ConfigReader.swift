import Yams

/// Reads one composed YAML document into a `GatewayConfiguration`, recording every problem with
/// its position instead of stopping at the first. The section readers are extensions in their own
/// files (`ConfigReader+Issuers.swift`, `ConfigReader+Routes.swift`, ...).
final class ConfigReader {
    /// At most this many YAML values are visited. Aliases let a small file describe a huge tree
    /// ("billion laughs"); past the budget the reader stops with one problem instead of hanging.
    static let nodeBudget = 200_000

    let source: String
    /// Absolute directory that relative paths in the file are resolved against.
    let baseDirectory: String
    private(set) var problems: [ConfigError.Problem] = []
    private var visited = 0
    private(set) var budgetExceeded = false
    /// Every `issuer:` value read, also from issuers with other problems (so routes naming them
    /// get no second, misleading problem).
    var declaredIssuers: [String] = []
    var declaredIssuerNodes: [String: Node] = [:]
    /// `policy.directory` or `policy.git` was written (even if its value had a problem).
    var policySourceDeclared = false
    /// The environment the file is read with (`webhook_secret_env`).
    var environment: [String: String] = [:]

    init(source: String, baseDirectory: String) {
        self.source = source
        self.baseDirectory = baseDirectory
    }

    // MARK: Problems

    func error(_ message: String, at node: Node?) {
        error(message, at: node?.mark)
    }

    func error(_ message: String, at mark: Mark?) {
        problems.append(ConfigError.Problem(file: source, line: mark?.line ?? 0, column: mark?.column ?? 0,
                                            message: message))
    }

    /// Counts a visited value; false (and one problem) once the budget is spent.
    func visit(_ node: Node) -> Bool {
        guard !budgetExceeded else { return false }
        visited += 1
        if visited > Self.nodeBudget {
            budgetExceeded = true
            error("too many values (more than \(Self.nodeBudget), counting every use of an alias); "
                  + "the rest of the file was not read", at: node)
            return false
        }
        return true
    }

    // MARK: Mappings

    /// The entries of a mapping, with `<<` merge keys expanded (YAML merge: the mapping's own keys
    /// win, then the merged mappings in order). Checks every key against `allowed`.
    /// nil, with a problem, when `node` is not a mapping.
    func fields(_ node: Node, allowed: [String], in what: String) -> Fields? {
        guard visit(node) else { return nil }
        guard case .mapping = node else {
            error("\(what) must be a mapping (key: value lines), not \(node.kindDescription)", at: node)
            return nil
        }
        let entries = mergedEntries(node, depth: 0)
        for entry in entries where !allowed.contains(entry.key) {
            var message = "unknown key '\(entry.key)' in \(what)"
            if let suggestion = Suggestions.closest(to: entry.key, in: allowed) {
                message += "; did you mean '\(suggestion)'?"
            }
            message += " (allowed: \(allowed.joined(separator: ", ")))"
            error(message, at: entry.keyNode)
        }
        return Fields(node: node, entries: entries.filter { allowed.contains($0.key) })
    }

    /// The entries of a mapping whose keys are free names (identity headers), merges expanded.
    func freeEntries(_ node: Node, in what: String) -> [Fields.Entry]? {
        guard visit(node) else { return nil }
        guard case .mapping = node else {
            error("\(what) must be a mapping (name: value lines), not \(node.kindDescription)", at: node)
            return nil
        }
        return mergedEntries(node, depth: 0)
    }

    private func mergedEntries(_ node: Node, depth: Int) -> [Fields.Entry] {
        guard case .mapping(let mapping) = node else { return [] }
        var own: [Fields.Entry] = []
        var merged: [Fields.Entry] = []
        for (keyNode, value) in mapping {
            guard visit(keyNode) else { break }
            guard case .scalar(let scalar) = keyNode else {
                error("keys must be plain names, not \(keyNode.kindDescription)", at: keyNode)
                continue
            }
            if let head = scalar.string.unicodeScalars.first, TextPositions.maskRange.contains(head.value) {
                continue  // a repeated key, already reported
            }
            if scalar.string == "<<", scalar.style == .plain {
                merged += mergeSources(value, depth: depth)
            } else {
                own.append(Fields.Entry(key: scalar.string, keyNode: keyNode, value: value))
            }
        }
        var seen = Set(own.map(\.key))
        for entry in merged where seen.insert(entry.key).inserted { own.append(entry) }
        return own
    }

    private func mergeSources(_ value: Node, depth: Int) -> [Fields.Entry] {
        guard depth < 16 else {
            error("merge keys ('<<') nested too deeply", at: value)
            return []
        }
        switch value {
        case .mapping:
            return mergedEntries(value, depth: depth + 1)
        case .sequence(let sequence):
            var result: [Fields.Entry] = []
            for item in sequence {
                guard case .mapping = item else {
                    error("'<<' merges mappings; this list item is \(item.kindDescription)", at: item)
                    continue
                }
                result += mergedEntries(item, depth: depth + 1)
            }
            return result
        default:
            error("'<<' merges a mapping or a list of mappings (usually an alias such as '<<: *defaults'), "
                  + "not \(value.kindDescription)", at: value)
            return []
        }
    }
}

/// A mapping's entries after merge expansion, unknown keys already reported and removed.
struct Fields {
    struct Entry {
        let key: String
        let keyNode: Node
        let value: Node
    }

    let node: Node
    let entries: [Entry]

    var mark: Mark? { node.mark }

    /// The value of `key`; nil when absent or null (`key:`, `key: null`, `key: ~`).
    subscript(_ key: String) -> Node? {
        guard let value = entries.first(where: { $0.key == key })?.value, !value.isNull else { return nil }
        return value
    }

    func has(_ key: String) -> Bool { self[key] != nil }
}

extension Node {
    /// A plain scalar YAML reads as null: empty, `~`, `null`.
    var isNull: Bool {
        guard case .scalar(let scalar) = self, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// For messages: "a list", "a mapping", "null", "the string 'x'".
    var kindDescription: String {
        switch self {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            if isNull { return "null" }
            let text = scalar.string.count > 40 ? String(scalar.string.prefix(40)) + "..." : scalar.string
            return "'\(text.debugEscaped)'"
        }
    }
}

extension String {
    /// Control characters escaped, for quoting user input in messages.
    var debugEscaped: String {
        var out = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
