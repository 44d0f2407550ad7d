import Yams

/// Turns Yams' errors into positioned problems with hints for the usual mistakes.
enum YAMLSyntaxErrors {
    static func problems(_ error: Error, source: String, text: String) -> [ConfigError.Problem] {
        func at(_ position: Position?, _ message: String) -> ConfigError.Problem {
            ConfigError.Problem(file: source, line: position?.line ?? 0, column: position?.column ?? 0, message: message)
        }
        guard let error = error as? YamlError else { return [at(nil, "cannot parse YAML: \(error)")] }
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var message = "YAML syntax: \(problem)"
            if let context, !context.text.isEmpty { message += " (\(context.text) at \(context.mark.line):\(context.mark.column))" }
            message += hint(problem: problem, context: context?.text ?? "", at: Position(mark), text: text)
            return [at(Position(mark), message)]
        case .reader(let problem, let offset, let value, _):
            let position = offset.map { TextPositions.position(atUTF8Offset: $0, in: text) }
            let hex = String(value, radix: 16, uppercase: true)
            let character = value >= 0 ? " (U+\(String(repeating: "0", count: max(0, 4 - hex.count)))\(hex))" : ""
            return [at(position, "YAML: \(problem)\(character)")]
        case .duplicatedKeysInMapping:
            return duplicateKey(error, source: source, text: text).map { [$0.problem] } ?? []
        default:
            return [at(nil, "cannot parse YAML: \(error)")]
        }
    }

    /// A duplicate key: the problem, placed at the repeated key when it can be found (block
    /// mappings), and the span of that key (so the loader can mask it and look for more problems).
    static func duplicateKey(_ error: YamlError, source: String, text: String)
        -> (problem: ConfigError.Problem, repeated: (position: Position, length: Int)?)? {
        guard case .duplicatedKeysInMapping(let duplicates, let context) = error else { return nil }
        let name = duplicates.first ?? "?"
        let first = Position(context.mark)
        if let repeated = TextPositions.repeatedKey(name, firstAt: first, in: text) {
            let problem = ConfigError.Problem(file: source, line: repeated.position.line, column: repeated.position.column,
                                              message: "duplicate key '\(name)': already set at \(first.line):\(first.column) in the same mapping")
            return (problem, repeated)
        }
        let others = duplicates.count > 1 ? " (also duplicated here: \(duplicates.dropFirst().joined(separator: ", ")))" : ""
        let problem = ConfigError.Problem(file: source, line: first.line, column: first.column,
                                          message: "duplicate key '\(name)': it appears more than once in this mapping\(others)")
        return (problem, nil)
    }

    private static func hint(problem: String, context: String, at position: Position, text: String) -> String {
        let char = TextPositions.character(at: position, in: text)
        if problem.contains("undefined alias") || context.contains("scanning an alias") {
            return "; a value starting with '*' must be quoted, e.g. host: \"*.example.com\""
        }
        if problem.contains("cannot start any token"), char == "\t" {
            return "; YAML does not allow tabs for indentation, use spaces"
        }
        if problem.contains("cannot start any token"), char == "@" || char == "`" {
            return "; quote values starting with '\(char!)'"
        }
        if problem.contains("mapping values are not allowed") {
            return "; quote values containing ': '"
        }
        return ""
    }
}
