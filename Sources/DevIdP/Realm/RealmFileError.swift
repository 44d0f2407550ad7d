/// Why a realm file was refused: every problem found, each at `line:col` (JSON syntax) or at the
/// JSON path of the member (`users[2].requiredActions`), so the author can fix them all at once.
public struct RealmFileError: Error, Sendable, CustomStringConvertible {
    public struct Problem: Sendable, Equatable {
        /// `3:14` for a syntax error, else the JSON path (`users[2].credentials[0].temporary`).
        public let location: String
        public let message: String
    }

    public let file: String
    public let problems: [Problem]

    public init(file: String, problems: [Problem]) {
        self.file = file
        self.problems = problems
    }

    public var description: String {
        problems.map { problem in
            if problem.location.isEmpty { return "\(file): \(problem.message)" }
            let separator = problem.location.first?.isNumber == true ? ":" : ": "
            return "\(file)\(separator)\(problem.location): \(problem.message)"
        }.joined(separator: "\n")
    }

    /// 1-based line and column (in characters) of a byte offset, for JSON syntax errors.
    static func lineAndColumn(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        for index in 0..<min(offset, bytes.count) where bytes[index] == UInt8(ascii: "\n") {
            line += 1
            lineStart = index + 1
        }
        let end = min(offset, bytes.count)
        // Columns count characters, not bytes: skip UTF-8 continuation bytes.
        let column = bytes[lineStart..<end].reduce(1) { $1 & 0xC0 == 0x80 ? $0 : $0 + 1 }
        return (line, column)
    }
}
