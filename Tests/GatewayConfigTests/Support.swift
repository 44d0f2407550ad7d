import Foundation
import Testing
@testable import GatewayConfig

/// Parses with an empty environment (never the test process's own switches).
func parse(_ yaml: String, source: String = "/etc/portcullis/routes.yaml",
           environment: [String: String] = [:]) throws(ConfigError) -> GatewayConfiguration {
    try ConfigLoader.parse(yaml: yaml, source: source, environment: environment)
}

/// The problems of a file that must not load ([] when it loads).
func problems(_ yaml: String, source: String = "t.yaml", environment: [String: String] = [:]) -> [ConfigError.Problem] {
    do {
        _ = try ConfigLoader.parse(yaml: yaml, source: source, environment: environment)
        return []
    } catch {
        return error.problems
    }
}

/// Six lines that make routes valid: one issuer and a policy directory. Routes appended to it
/// start on line 7.
let header = """
    issuers:
      - issuer: http://127.0.0.1:8180/realms/r
        audiences: [portcullis]
    policy:
      directory: policies
    routes:

    """

/// A minimal route, at line 7 when appended to `header`.
let minimalRoute = """
      - id: r
        match: {path_prefix: /r}
        upstream: {urls: [http://127.0.0.1:9101]}

    """

/// The repository root (this file is Tests/GatewayConfigTests/Support.swift; symlinks resolved).
let repositoryRoot: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// One expected problem: position and a part of the message.
struct Expected: CustomStringConvertible, Sendable {
    let line: Int
    let column: Int
    let text: String
    init(_ line: Int, _ column: Int, _ text: String) { self.line = line; self.column = column; self.text = text }
    var description: String { "\(line):\(column): …\(text)…" }

    func matches(_ problem: ConfigError.Problem) -> Bool {
        problem.line == line && problem.column == column && problem.message.contains(text)
    }
}

/// Checks that `actual` are exactly the expected problems, in order.
func expectProblems(_ actual: [ConfigError.Problem], _ expected: [Expected], sourceLocation: SourceLocation = #_sourceLocation) {
    let ok = actual.count == expected.count && zip(actual, expected).allSatisfy { $1.matches($0) }
    #expect(ok, "expected:\n\(expected.map(\.description).joined(separator: "\n"))\ngot:\n\(actual.map(\.description).joined(separator: "\n"))",
            sourceLocation: sourceLocation)
}
