/// Everything wrong with a configuration, collected in one pass: every problem in the file (not
/// only the first), plus bad environment switches. `description` prints one
/// `file:line:col: message` per line, sorted by position, as compilers do.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        /// The configuration file, or `environment` for a bad switch.
        public var file: String
        /// 1-based. 0 when the problem has no place in the file (unreadable file, empty file,
        /// environment variable); then `description` is `file: message`.
        public var line: Int
        /// 1-based, counted in Unicode scalars (as libyaml does).
        public var column: Int
        public var message: String

        public init(file: String, line: Int, column: Int, message: String) {
            self.file = file
            self.line = line
            self.column = column
            self.message = message
        }

        public var description: String {
            line > 0 ? "\(file):\(line):\(column): \(message)" : "\(file): \(message)"
        }
    }

    /// Sorted: problems with a position by line and column, then those without one.
    public var problems: [Problem]

    /// Sorts the problems and drops exact repeats (a value reached twice through a YAML alias).
    public init(problems: [Problem]) {
        var seen = Set<Problem>()
        let unique = problems.filter { seen.insert($0).inserted }
        self.problems = unique.enumerated().sorted { a, b in
            let (x, y) = (a.element, b.element)
            if (x.line == 0) != (y.line == 0) { return y.line == 0 }
            if x.line != y.line { return x.line < y.line }
            if x.column != y.column { return x.column < y.column }
            return a.offset < b.offset
        }.map(\.element)
    }

    public var description: String {
        problems.map(\.description).joined(separator: "\n")
    }
}
