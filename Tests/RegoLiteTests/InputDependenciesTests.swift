import Foundation
import Testing
@testable import RegoLite

/// `PreparedQuery.inputDependencies`: the input members a query can read and whether its answer
/// depends on anything else. The gateway reuses decisions on it, so every over-approximation is
/// fine and every under-approximation would be a wrong allow: the tests pin both directions.
@Suite struct InputDependenciesTests {
    private func dependencies(_ modules: [String], _ query: String) throws -> InputDependencies {
        let policy = try PolicyEngine.compile(modules: modules.enumerated().map { ("m\($0.offset).rego", $0.element) }, data: .emptyObject)
        return try PreparedQuery(policy: policy, query: query).inputDependencies
    }

    @Test func membersReadByTheRuleAndWhatItCalls() throws {
        let d = try dependencies(["""
            package t
            allow if { input.method == "GET"; is_owner(input.user) }
            is_owner(u) if u == input.resource.owner
            unrelated if input.secret == 1
            """], "data.t.allow")
        #expect(d.keys == ["method", "user", "resource"])
        #expect(d.deterministic)
        #expect(d.cacheable)
    }

    @Test func rulesReachedThroughOtherPackagesAndElseChainsCount() throws {
        let d = try dependencies([
            "package a\nimport data.b\nallow if b.ok else := true if input.fallback",
            "package b\nok if input.x[input.y] == 1",
        ], "data.a.allow")
        #expect(d.keys == ["fallback", "x", "y"])
    }

    @Test func aWholeDocumentReferenceReachesEveryRuleBelowIt() throws {
        let d = try dependencies(["package t\np if input.a\nq.r if input.b"], "data.t")
        #expect(d.keys == ["a", "b"])
        let all = try dependencies(["package t\np if input.a", "package u\nq if input.c"], "data")
        #expect(all.keys == ["a", "c"])
    }

    @Test func aMemberChosenAtRunTimeOrTheWholeInputMeansAnyMember() throws {
        #expect(try dependencies(["package t\np if { some k; input[k] == 1 }"], "data.t.p").keys == nil)
        #expect(try dependencies(["package t\np if count(input) > 0"], "data.t.p").keys == nil)
        #expect(try dependencies(["package t\np if { x := input; x.a }"], "data.t.p").cacheable == false)
        #expect(try dependencies(["package t\np := input.a"], "input.b == data.t.p").keys == ["a", "b"])
    }

    @Test func timeRandomnessEffectsMakeItNonDeterministic() throws {
        #expect(try dependencies(["package t\np if time.now_ns() > input.t"], "data.t.p").deterministic == false)
        #expect(try dependencies(["package t\np if uuid.rfc4122(\"a\") != \"\""], "data.t.p").deterministic == false)
        // Only what the query can reach counts.
        let d = try dependencies(["package t\np if input.a\nq if time.now_ns() > 0"], "data.t.p")
        #expect(d.deterministic && d.keys == ["a"])
    }

    @Test func withTargetsAreReplacedNotRead() throws {
        let d = try dependencies(["package t\nq if input.z\np if { q with input.y as input.w }"], "data.t.p")
        #expect(d.keys == ["z", "w"])
    }

    @Test func theDefaultBundlesAllowReadsNoHeaderNorTime() throws {
        let (policy, _) = try DefaultBundleTests.loadBundle()
        let d = try PreparedQuery(policy: policy, query: "data.systemupdate.authz.allow").inputDependencies
        #expect(d.cacheable)
        let keys = try #require(d.keys)
        #expect(keys.isDisjoint(with: ["headers", "request_id", "time_ns"]))
        #expect(keys.isSuperset(of: ["route", "method", "token"]))
    }
}

/// The analysis against OPA's own corpus: for every case with an object input whose query the
/// analysis calls cacheable, evaluating with only the members it names gives the same results
/// as the whole input. An under-approximation would show as a difference here.
@Suite struct InputDependenciesCorpusTests {
    @Test func keepingOnlyTheNamedMembersChangesNoAnswer() throws {
        let corpus = ConformanceTests.corpus
        guard FileManager.default.fileExists(atPath: corpus.path) else {
            print("input dependencies corpus check: skipped, \(corpus.path) is absent")
            return
        }
        var checked = 0, cacheable = 0
        let files = (FileManager.default.enumerator(at: corpus, includingPropertiesForKeys: nil)?.allObjects as? [URL] ?? [])
            .filter { $0.pathExtension == "json" }.sorted { $0.path < $1.path }
        for file in files {
            guard case .array(let cases)? = try JSONReader.parse(data: try Data(contentsOf: file))["cases"] else { continue }
            for c in cases {
                guard case .object(let input)? = c["input"], case .array(let modules)? = c["modules"] else { continue }
                var engine = PolicyEngine()
                guard let policy = try? {
                    for (i, m) in modules.enumerated() { try engine.addModule(name: "test-\(i).rego", source: m.stringValue ?? "") }
                    if let d = c["data"], case .object = d { try engine.addData(d) }
                    return try engine.compile()
                }(), let query = try? PreparedQuery(policy: policy, query: c["query"]?.stringValue ?? "") else { continue }
                let options = EvalOptions(strictBuiltinErrors: c["strict_error"]?.boolValue ?? false, maxSteps: 1_000_000, nowNs: 1)
                guard let full = try? query.eval(input: .object(input), options: options) else { continue }
                checked += 1
                let deps = query.inputDependencies
                guard deps.cacheable, let keys = deps.keys else { continue }
                cacheable += 1
                let kept = RegoObject(pairs: input.pairs.filter { if case .string(let k) = $0.0 { return keys.contains(k) }; return false })
                let reduced = try? query.eval(input: .object(kept), options: options)
                #expect(reduced == full,
                        "\(file.lastPathComponent) \(c["note"]?.stringValue ?? ""): keys \(keys.sorted())")
            }
        }
        print("input dependencies corpus check: \(cacheable) cacheable of \(checked) cases with an object input")
        #expect(cacheable > 0)
    }
}
