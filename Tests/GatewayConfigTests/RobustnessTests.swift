import Foundation
import Testing
@testable import GatewayConfig

/// Any input gives a configuration or a positioned error: never a crash or a hang.
@Suite struct RobustnessTests {
    @Test(arguments: [
        ("", "t.yaml: the file is empty"),
        ("# only a comment\n", "t.yaml: the file is empty"),
        ("- a\n- b\n", "t.yaml:1:1: expected a mapping (key: value lines) at the top level, found a list"),
        ("just text", "t.yaml:1:1: expected a mapping (key: value lines) at the top level, found 'just text'"),
        ("null", "t.yaml:1:1: expected a mapping (key: value lines) at the top level, found null"),
        ("a: b\n---\nc: d\n", "t.yaml:2:1: YAML syntax: but found another document"),
        ("routes: [\n", "t.yaml:2:1: YAML syntax: did not find expected node content"),
        ("routes:\n\t- id: x\n", "t.yaml:2:1: YAML syntax: found character that cannot start any token (while scanning for the next token at 2:1); YAML does not allow tabs"),
        ("match: {host: *.example.com}\n", "t.yaml:1:16: YAML syntax: did not find expected alphabetic or numeric character (while scanning an alias at 1:15); a value starting with '*' must be quoted"),
        ("a: *nothing\n", "t.yaml:1:4: YAML syntax: found undefined alias"),
        ("key: \"unterminated\n", "t.yaml:2:1: YAML syntax: found unexpected end of stream"),
        ("{{{{", "t.yaml:"),
        ("\u{0}\u{1}\u{2}", "t.yaml:"),
        ("listen: 1\nlisten: 2\n", "t.yaml:2:1: duplicate key 'listen': already set at 1:1"),
        ("a: {x: 1, x: 2}\n", "t.yaml:1:5: duplicate key 'x': it appears more than once in this mapping"),
    ])
    func garbage(yaml: String, first: String) {
        let found = problems(yaml)
        #expect(!found.isEmpty)
        #expect(found.contains { $0.description.hasPrefix(first) }, "\(found)")
    }

    @Test func everyTruncationOfAValidFileIsHandled() {
        let text = ValidConfigTests.full
        var index = text.startIndex
        var count = 0
        while index < text.endIndex {
            _ = problems(String(text[..<index]))
            index = text.index(index, offsetBy: 7, limitedBy: text.endIndex) ?? text.endIndex
            count += 1
        }
        #expect(count > 100)
    }

    /// Seeded random byte edits of a valid file: every result loads or fails with positioned problems.
    @Test func randomMutationsNeverCrash() {
        var rng = SplitMix64(seed: 0x5EED)
        let original = Array(ValidConfigTests.full.utf8)
        let alphabet = Array(" \n\t-:[]{},*&!|>'\"#?%@`~0123456789azAZ<".utf8) + [0xC3, 0xA9, 0xFF, 0x00]
        for _ in 0..<400 {
            var bytes = original
            for _ in 0...Int(rng.next() % 4) {
                let index = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[index] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: index)
                default: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: index)
                }
            }
            guard case .success(let text) = TextPositions.decodeUTF8(bytes) else { continue }
            for problem in problems(text) {
                #expect(problem.line >= 0 && problem.column >= 0 && !problem.message.isEmpty)
            }
        }
    }

    @Test func hugeNumbers() {
        let found = problems("""
            workers: 999999999999999999999999999999
            shutdown_grace: 1e400
            limits: {max_body_bytes: 99999999999999999999999999KiB}
            routes: []
            """)
        expectProblems(found, [
            Expected(1, 10, "workers: 999999999999999999999999999999 is out of range"),
            Expected(2, 17, "shutdown_grace: "),
            Expected(3, 26, "max_body_bytes: size '99999999999999999999999999KiB' is too large"),
            Expected(4, 9, "routes: the list must not be empty"),
        ])
    }

    @Test func nonStringKeysAndTags() {
        let found = problems("""
            1: x
            ? [a]
            : b
            routes: []
            """)
        #expect(!found.isEmpty)
    }

    @Test func billionLaughsAsValuesIsHarmless() {
        var yaml = "x0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 {
            yaml += "x\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        yaml += "trusted_proxies: *a9\nroutes: *a9\n"
        let clock = ContinuousClock()
        let started = clock.now
        let found = problems(yaml)
        #expect(found.count > 10)
        #expect(clock.now - started < .seconds(20))
    }

    @Test func aliasedRoutesStopAtTheNodeBudget() {
        let methods = (1...1000).map { "M\($0)" }.joined(separator: ", ")
        let routes = Array(repeating: "*r", count: 1000).joined(separator: ", ")
        let yaml = header.replacingOccurrences(of: "routes:\n", with: "") + """
            x: &r {id: r, match: {path_prefix: /r, methods: [\(methods)]}, upstream: {urls: [http://127.0.0.1:1]}}
            routes: [\(routes)]
            """
        let clock = ContinuousClock()
        let started = clock.now
        let found = problems(yaml)
        #expect(found.contains { $0.message.hasPrefix("too many values (more than 200000") })
        #expect(found.count < 50)
        #expect(clock.now - started < .seconds(30))
    }

    @Test func aliasesAsKeysAreRefusedBeforeComposing() {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 {
            yaml += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        let clock = ContinuousClock()
        let started = clock.now
        for key in ["? *a9\n: 1\n", "*a9 : 1\n", "[*a9]: 1\n", "{k: *a9}: 1\n", "x: {*a9 : 1}\n"] {
            let found = problems(yaml + key)
            #expect(found.count == 1, "\(key): \(found)")
            #expect(found.first?.line == 11, "\(key): \(found)")
            #expect(found.first?.message.contains("cannot be a key") == true || found.first?.message.contains("explicit keys") == true)
        }
        #expect(clock.now - started < .seconds(20))
    }

    @Test func preflightIgnoresQuotesCommentsAndBlockScalars() {
        let text = """
            a: &x 1
            b: *x
            c: "? [k]: v *x : y"
            d: '{*x : 1}'   # ? [z]: 1
            e: |
              ? [q]: 1
              *x : 2
            f: ok
            """
        #expect(YAMLPreflight.complexKeys(in: text).isEmpty)
        #expect(YAMLPreflight.complexKeys(in: text + "\n[k]: 1\n").map(\.0.line) == [9])
    }

    @Test func mergeKeyErrors() {
        let found = problems(header + """
              - id: r
                match: {path_prefix: /r}
                upstream:
                  <<: 5
                  urls: [http://127.0.0.1:1]
            """)
        expectProblems(found, [Expected(10, 11, "'<<' merges a mapping or a list of mappings")])
    }

    @Test func fileErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gwconfig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        func loadProblems(_ path: String) -> [String] {
            do { _ = try ConfigLoader.load(path: path, environment: [:]); return [] } catch { return error.problems.map(\.description) }
        }
        let missing = dir.appendingPathComponent("missing.yaml").path
        #expect(loadProblems(missing) == ["\(missing): no such file"])
        #expect(loadProblems(dir.path) == ["\(dir.path): is a directory, not a configuration file"])

        let binary = dir.appendingPathComponent("bin.yaml")
        try Data("routes: []\nlisten: \"a\u{e9}".utf8 + [0xFF, 0xFE] + Array("\"\n".utf8)).write(to: binary)
        #expect(loadProblems(binary.path) == ["\(binary.path):2:12: is not valid UTF-8 (byte 23)"])

        let big = dir.appendingPathComponent("big.yaml")
        try Data(repeating: UInt8(ascii: "#"), count: ConfigLoader.maxFileBytes + 1).write(to: big)
        #expect(loadProblems(big.path) == ["\(big.path): is larger than 4 MiB; not a routes file?"])

        #expect(loadProblems(missing + "x").count == 1)
        do {
            _ = try ConfigLoader.load(path: missing, environment: ["AUTH_REQUIRED": "x"])
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.problems.map(\.file) == [missing, "environment"])
        }
    }
}

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
