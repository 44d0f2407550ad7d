import Foundation
import Testing
import Synchronization
@testable import RegoLite

/// The default `systemupdate` bundle in `rego-lite/policies`: it compiles, its own `test_*` rules
/// pass, and the seed's flow (create a command: allowed; acknowledge it as operator: 403) holds.
@Suite struct DefaultBundleTests {
    /// `<package root>/rego-lite/policies`. Symlinks are resolved first, so this also works when
    /// the test directory is reached through a link from another package.
    static var bundleRoot: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent()   // RegoLiteTests
            .deletingLastPathComponent()   // Tests
            .deletingLastPathComponent()   // package root
            .appendingPathComponent("rego-lite/policies")
    }

    /// Loads the bundle with OPA's layout: every `.rego` file, and `a/b/data.json` at `data.a.b`.
    static func loadBundle() throws -> (policy: CompiledPolicy, files: [String]) {
        let root = bundleRoot.standardizedFileURL
        var engine = PolicyEngine()
        var files: [String] = []
        let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        let urls = (walker?.allObjects as? [URL] ?? []).map(\.standardizedFileURL).sorted { $0.path < $1.path }
        for url in urls {
            let rel = String(url.path.dropFirst(root.path.count + 1))
            if url.pathExtension == "rego" {
                try engine.addModule(name: "rego-lite/policies/" + rel, source: try String(contentsOf: url, encoding: .utf8))
                files.append(rel)
            } else if url.lastPathComponent == "data.json" {
                try engine.addBundleData(path: rel, value: try JSONReader.parse(data: try Data(contentsOf: url)))
                files.append(rel)
            }
        }
        return (try engine.compile(), files)
    }

    static func input(route: String, method: String, segments: [String], roles: [String]?) throws -> Value {
        var object: [String: Any] = [
            "request_id": "r-1", "time_ns": 0, "route": route, "method": method, "scheme": "http",
            "host": "api.local", "path": "/" + segments.joined(separator: "/"), "path_segments": segments,
            "query": [String: Any](), "headers": ["user-agent": "swift-test"], "source_ip": "127.0.0.1",
            "authenticated": roles != nil,
        ]
        if let roles {
            object["token"] = ["header": ["alg": "RS256", "kid": "k1"],
                               "payload": ["sub": "u-1", "realm_access": ["roles": roles]]]
        }
        return try JSONReader.parse(data: try JSONSerialization.data(withJSONObject: object))
    }

    static func evaluate(_ query: String, _ input: Value) throws -> Value? {
        let policy = try loadBundle().policy
        return try PreparedQuery(policy: policy, query: query).evalValue(input: input)
    }

    @Test func bundleHasTheExpectedFiles() throws {
        let files = try Self.loadBundle().files
        #expect(files.contains("systemupdate/authz.rego"))
        #expect(files.contains("systemupdate/authz_test.rego"))
        #expect(files.contains("systemupdate/data.json"))
    }

    @Test func everyPolicyTestPasses() throws {
        let policy = try Self.loadBundle().policy
        let results = PolicyTestRunner().run(policy)
        print("default bundle: \(results.filter { $0.outcome == .pass }.count) of \(results.count) policy tests passed")
        for r in results where r.outcome != .pass {
            Issue.record("\(r.outcome.rawValue) \(r.name)\(r.message.map { ": " + $0 } ?? "")")
        }
        #expect(results.count >= 15, "found only \(results.count) test_* rules")
        #expect(results.allSatisfy { $0.outcome == .pass })
        #expect(results.contains { $0.name == "data.systemupdate.authz_test.test_seed_flow_operator_cannot_ack_command" })
    }

    @Test func seedFlowCreateCommandIsAllowed() throws {
        let input = try Self.input(route: "commands", method: "POST", segments: ["commands"], roles: ["operator"])
        #expect(try Self.evaluate("data.systemupdate.authz.allow", input) == .true)
        let decision = try Self.evaluate("data.systemupdate.authz.decision", input)
        #expect(decision?["allow"] == .true)
        #expect(decision?["status"] == nil)
    }

    @Test func seedFlowAckIsDeniedForOperator() throws {
        let input = try Self.input(route: "commands", method: "PATCH", segments: ["commands", "c-42", "ack"], roles: ["operator"])
        #expect(try Self.evaluate("data.systemupdate.authz.allow", input) == .false)
        let decision = try Self.evaluate("data.systemupdate.authz.decision", input)
        #expect(decision == (try JSONReader.parse(#"{"allow": false, "status": 403, "reasons": ["no role grants commands:ack"]}"#)))
    }

    @Test func ackIsAllowedForAdmin() throws {
        let input = try Self.input(route: "commands", method: "PATCH", segments: ["commands", "c-42", "ack"], roles: ["admin"])
        #expect(try Self.evaluate("data.systemupdate.authz.allow", input) == .true)
    }

    @Test func unauthenticatedIsDeniedWith401() throws {
        let input = try Self.input(route: "devices", method: "GET", segments: ["devices"], roles: nil)
        #expect(try Self.evaluate("data.systemupdate.authz.allow", input) == .false)
        let decision = try Self.evaluate("data.systemupdate.authz.decision", input)
        #expect(decision?["status"] == .int(401))
        #expect(decision?["reasons"] == .array([.string("unauthenticated")]))
    }

    @Test func unknownRouteIsDenied() throws {
        let input = try Self.input(route: "billing", method: "GET", segments: ["billing"], roles: ["admin"])
        #expect(try Self.evaluate("data.systemupdate.authz.allow", input) == .false)
        let decision = try Self.evaluate("data.systemupdate.authz.decision", input)
        #expect(decision?["reasons"] == .array([.string("unknown route: billing")]))
    }

    @Test func testRulesAreNotPartOfTheEnforcedPackage() throws {
        // *_test.rego lives in its own package: the enforced document has no test_ rules.
        let policy = try Self.loadBundle().policy
        #expect(!policy.testRules.isEmpty)
        #expect(policy.testRules.allSatisfy { Array($0.prefix(2)) != ["systemupdate", "authz"] })
    }

    /// One compiled policy and prepared query evaluated from many threads at once (the gateway's
    /// use): every thread gets the answers of a single-threaded run.
    @Test func concurrentEvaluationsAgree() throws {
        let policy = try Self.loadBundle().policy
        let queries = try ["data.systemupdate.authz.allow", "data.systemupdate.authz.decision"].map { try PreparedQuery(policy: policy, query: $0) }
        let inputs: [Value] = try [
            Self.input(route: "commands", method: "POST", segments: ["commands"], roles: ["operator"]),
            Self.input(route: "commands", method: "PATCH", segments: ["commands", "c-42", "ack"], roles: ["operator"]),
            Self.input(route: "commands", method: "PATCH", segments: ["commands", "c-42", "ack"], roles: ["admin"]),
            Self.input(route: "devices", method: "GET", segments: ["api", "devices", "d-1"], roles: ["viewer"]),
            Self.input(route: "devices", method: "GET", segments: ["devices", "healthz"], roles: nil),
            Self.input(route: "billing", method: "GET", segments: ["billing"], roles: ["admin"]),
        ]
        let expected = try queries.map { q in try inputs.map { try q.evalValue(input: $0) } }
        let mismatches = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for round in 0..<200 {
                let i = (round + t) % inputs.count
                for (qi, q) in queries.enumerated() where (try? q.evalValue(input: inputs[i])) != expected[qi][i] {
                    mismatches.withLock { $0 += 1 }
                }
            }
        }
        #expect(mismatches.withLock { $0 } == 0)
    }
}
