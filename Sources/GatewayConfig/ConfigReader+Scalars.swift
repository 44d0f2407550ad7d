import Yams

/// Typed values. Each getter returns nil after recording a problem that names the key; YAML's own
/// implicit typing is not used (the file is composed with the basic resolver), so `on`, `yes` or
/// `0x10` never turn into something unexpected: every value is read as the key expects it.
extension ConfigReader {
    /// The text of a scalar; nil (with a problem) for a mapping, a list or null.
    func text(_ node: Node, key: String) -> String? {
        guard visit(node) else { return nil }
        guard case .scalar(let scalar) = node, !node.isNull else {
            error("\(key): expected a single value, not \(node.kindDescription)", at: node)
            return nil
        }
        return scalar.string
    }

    /// A non-empty string without control characters.
    func string(_ node: Node, key: String) -> String? {
        guard let value = text(node, key: key) else { return nil }
        if value.trimmingWhitespace.isEmpty {
            error("\(key): must not be empty", at: node)
            return nil
        }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            error("\(key): must not contain control characters (got '\(value.debugEscaped)')", at: node)
            return nil
        }
        return value
    }

    func bool(_ node: Node, key: String) -> Bool? {
        guard let value = text(node, key: key) else { return nil }
        let plain = node.scalar?.style == .plain
        if plain, ["true", "True", "TRUE"].contains(value) { return true }
        if plain, ["false", "False", "FALSE"].contains(value) { return false }
        var message = "\(key): expected true or false, got \(node.kindDescription)"
        if !plain, ["true", "false"].contains(value.lowercased()) {
            message += " (a quoted string; remove the quotes)"
        } else if ["yes", "no", "on", "off", "y", "n"].contains(value.lowercased()) {
            message += " (yes/no/on/off are not booleans here)"
        }
        error(message, at: node)
        return nil
    }

    /// A whole number in `range` (`_` between digits allowed: `100_000`).
    func integer(_ node: Node, key: String, range: ClosedRange<Int>) -> Int? {
        guard let value = text(node, key: key) else { return nil }
        let digits = value.hasPrefix("+") ? String(value.dropFirst()) : value
        let body = digits.hasPrefix("-") ? digits.dropFirst() : Substring(digits)
        let wellFormed = !body.isEmpty && body.first!.isASCII && body.first!.isNumber
            && body.allSatisfy { ($0.isASCII && $0.isNumber) || $0 == "_" } && !body.hasSuffix("_")
        guard wellFormed, node.scalar?.style == .plain else {
            let hint = node.scalar?.style != .plain && wellFormed ? " (a quoted string; remove the quotes)" : ""
            error("\(key): expected a whole number, got \(node.kindDescription)\(hint)", at: node)
            return nil
        }
        guard let number = Int(digits.filter { $0 != "_" }) else {
            error("\(key): \(value) is out of range (\(range.lowerBound)...\(range.upperBound))", at: node)
            return nil
        }
        guard range.contains(number) else {
            if number <= 0, range.lowerBound > 0 {
                error("\(key): must be greater than 0 (got \(number))", at: node)
            } else if number < 0, range.lowerBound == 0 {
                error("\(key): must not be negative (got \(number))", at: node)
            } else {
                error("\(key): \(number) is out of range (\(range.lowerBound)...\(range.upperBound))", at: node)
            }
            return nil
        }
        return number
    }

    /// Seconds. `positive`: 0 is refused too.
    func duration(_ node: Node, key: String, positive: Bool) -> Double? {
        guard let value = text(node, key: key) else { return nil }
        switch ValueParsers.duration(value) {
        case .failure(let failure):
            error("\(key): \(failure.message)", at: node)
            return nil
        case .success(let seconds):
            if positive, seconds <= 0 {
                error("\(key): must be greater than 0", at: node)
                return nil
            }
            return seconds
        }
    }

    /// Bytes, at least 1.
    func size(_ node: Node, key: String) -> Int64? {
        guard let value = text(node, key: key) else { return nil }
        switch ValueParsers.size(value) {
        case .failure(let failure):
            error("\(key): \(failure.message)", at: node)
            return nil
        case .success(let bytes):
            return bytes
        }
    }

    /// The items of a list; nil (with a problem) when it is not a list, or is empty and `nonEmpty`.
    func list(_ node: Node, key: String, nonEmpty: Bool = true, emptyHint: String = "") -> [Node]? {
        guard visit(node) else { return nil }
        guard case .sequence(let sequence) = node else {
            var message = "\(key): expected a list, not \(node.kindDescription)"
            if case .scalar = node, !node.isNull { message += " (write [\(node.scalar?.string ?? "")] for a list of one)" }
            error(message, at: node)
            return nil
        }
        if nonEmpty, sequence.isEmpty {
            error("\(key): the list must not be empty\(emptyHint)", at: node)
            return nil
        }
        return Array(sequence)
    }

    /// A list of strings, each checked by `string`, duplicates refused.
    func stringList(_ node: Node, key: String, nonEmpty: Bool = true, emptyHint: String = "") -> [(value: String, node: Node)]? {
        guard let items = list(node, key: key, nonEmpty: nonEmpty, emptyHint: emptyHint) else { return nil }
        var result: [(value: String, node: Node)] = []
        var firstSeen: [String: Node] = [:]
        for item in items {
            guard let value = string(item, key: key) else { continue }
            if let first = firstSeen[value] {
                error("\(key): '\(value.debugEscaped)' is listed twice (first at \(first.position))", at: item)
                continue
            }
            firstSeen[value] = item
            result.append((value, item))
        }
        return result
    }
}

extension Node {
    /// "line:column" for messages.
    var position: String {
        guard let mark else { return "?" }
        return "\(mark.line):\(mark.column)"
    }
}
