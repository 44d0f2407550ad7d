/// A position in a policy source: file, 1-based line and column.
public struct Location: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) { self.file = file; self.line = line; self.column = column }
    public static let none = Location(file: "", line: 0, column: 0)
    public var description: String { file.isEmpty ? "\(line):\(column)" : "\(file):\(line):\(column)" }
}

/// Source text indexed by line, to print the offending line and a caret under an error.
public struct SourceFile: Sendable {
    public let name: String
    public let text: String
    public let lines: [Substring]
    public init(name: String, text: String) {
        self.name = name; self.text = text
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }
    public func excerpt(_ loc: Location) -> String? {
        guard loc.line >= 1, loc.line <= lines.count else { return nil }
        let line = String(lines[loc.line - 1]).replacingOccurrences(of: "\t", with: "    ")
        let tabs = lines[loc.line - 1].prefix(max(0, loc.column - 1)).filter { $0 == "\t" }.count
        let col = max(0, loc.column - 1 + tabs * 3)
        return "\t" + line + "\n\t" + String(repeating: " ", count: col) + "^"
    }
}
