import Foundation
import Testing
@testable import RegoLite

private func evalQuery(_ modules: [String], _ query: String, input: Value? = nil, data: Value = .emptyObject, strict: Bool = false) throws -> [QueryResult] {
    let policy = try PolicyEngine.compile(modules: modules.enumerated().map { ("m\($0.offset).rego", $0.element) }, data: data)
    return try PreparedQuery(policy: policy, query: query).eval(input: input, options: EvalOptions(strictBuiltinErrors: strict))
}

@Suite struct ValueTests {
    @Test func integerAndDecimalOneAreEqual() throws {
        #expect(Value.number(Number(literal: "1")!) == Value.number(Number(literal: "1.0")!))
    }
    @Test func typeOrderIsNullBoolNumberStringArrayObjectSet() {
        let ordered: [Value] = [.null, .false, .int(1), .string("a"), .array([]), .emptyObject, .emptySet]
        #expect(ordered.shuffled().sorted() == ordered)
    }
    @Test func decimalArithmeticIsExact() {
        #expect(Number(literal: "0.1")! + Number(literal: "0.2")! == Number(literal: "0.3")!)
    }
    @Test func bigIntegersKeepTheirDigits() {
        #expect(Number(literal: "123456789123456789123")!.description == "123456789123456789123")
    }
    @Test func jsonWriterSortsKeys() throws {
        let v = try JSONReader.parse(#"{"b": 1, "a": [true, null]}"#)
        #expect(JSONWriter.write(v) == #"{"a":[true,null],"b":1}"#)
    }
    @Test func jsonReaderRejectsTrailingGarbage() {
        #expect(throws: JSONError.self) { try JSONReader.parse("{} x") }
    }
}

@Suite struct EvaluationTests {
    @Test(arguments: [
        ("p if { 1 == 1 }", "data.t.p", Value.true),
        ("p := x if { x := [1, 2][_]; x > 1 }", "data.t.p", Value.int(2)),
        ("p contains x if { some x in [3, 1] }", "data.t.p", Value.set(RegoSet([.int(1), .int(3)]))),
        ("p[k] := v if { some k, v in {\"a\": 1} }", "data.t.p", Value.object(RegoObject(pairs: [(.string("a"), .int(1))]))),
        ("default p := false\np if { input.x == 1 }", "data.t.p", Value.false),
        ("f(x) := y if { y := x * 2 }\np := f(21)", "data.t.p", Value.int(42)),
        ("p := count([x | x := [1,2,3][_]; x > 1])", "data.t.p", Value.int(2)),
        ("p if { every x in [1, 2] { x > 0 } }", "data.t.p", Value.true),
        ("p := x if { x := input.a with input.a as 5 }", "data.t.p", Value.int(5)),
        ("p := \"small\" if { false } else := \"big\"", "data.t.p", Value.string("big")),
    ])
    func evaluatesRule(_ src: String, _ query: String, _ want: Value) throws {
        let rs = try evalQuery(["package t\n" + src], query, input: .emptyObject)
        #expect(rs.first?.expressions.first == want)
    }

    @Test func undefinedRuleYieldsNoResults() throws {
        #expect(try evalQuery(["package t\np if { false }"], "data.t.p").isEmpty)
    }
    @Test func completeRuleWithTwoValuesIsAConflict() throws {
        #expect(throws: RegoError.self) { try evalQuery(["package t\np := 1\np := 2"], "data.t.p") }
    }
    @Test func strictBuiltinErrorHalts() throws {
        #expect(throws: RegoError.self) { try evalQuery(["package t\np := 1 / 0"], "data.t.p", strict: true) }
        #expect(try evalQuery(["package t\np := 1 / 0"], "data.t.p").isEmpty)
    }
    @Test func stepLimitStopsRunawayEvaluation() throws {
        let policy = try PolicyEngine.compile(modules: [("m.rego", "package t\np := count([x | some x in numbers.range(1, 100000)])")])
        let q = try PreparedQuery(policy: policy, query: "data.t.p")
        #expect(throws: RegoError.self) { try q.eval(input: nil, options: EvalOptions(maxSteps: 1000)) }
    }
    @Test func queryBindingsAreReturned() throws {
        let rs = try evalQuery(["package t\np := 3"], "data.t.p = x")
        #expect(rs.first?.bindings["x"] == .int(3))
    }
    @Test func bundleDataLandsAtDirectoryPath() throws {
        var e = PolicyEngine()
        try e.addBundleData(path: "a/b/data.json", value: .object(RegoObject(pairs: [(.string("k"), .int(1))])))
        let q = try PreparedQuery(policy: try e.compile(), query: "data.a.b.k")
        #expect(try q.evalValue(input: nil) == .int(1))
    }
}

@Suite struct CompileErrorTests {
    @Test func parseErrorHasCodeAndLocation() {
        do { _ = try PolicyEngine.compile(modules: [("x.rego", "package t\np := [1,")]); Issue.record("no error") }
        catch let e as RegoError { #expect(e.code == .parse); #expect(e.location?.line == 2) }
        catch { Issue.record("unexpected \(error)") }
    }
    @Test func unsafeVariableIsReported() {
        do { _ = try PolicyEngine.compile(modules: [("x.rego", "package t\np if { x > 1 }")]); Issue.record("no error") }
        catch let e as RegoErrors { #expect(e.errors.first?.code == .unsafeVar) }
        catch { Issue.record("unexpected \(error)") }
    }
    @Test func recursionIsReported() {
        do { _ = try PolicyEngine.compile(modules: [("x.rego", "package t\np if { q }\nq if { p }")]); Issue.record("no error") }
        catch let e as RegoErrors { #expect(e.errors.first?.code == .recursion) }
        catch { Issue.record("unexpected \(error)") }
    }
    @Test func unsupportedBuiltinIsNamed() {
        do { _ = try PolicyEngine.compile(modules: [("x.rego", "package t\np := http.send({})")]); Issue.record("no error") }
        catch let e as RegoErrors { #expect(e.errors.first?.isUnsupported == true); #expect(e.errors.first?.message.contains("http.send") == true) }
        catch { Issue.record("unexpected \(error)") }
    }
}

@Suite struct TestRunnerTests {
    @Test func reportsPassAndFailPerTest() throws {
        let policy = try PolicyEngine.compile(modules: [("t.rego", "package t\ntest_ok if { 1 == 1 }\ntest_bad if { 1 == 2 }")])
        let rs = PolicyTestRunner().run(policy)
        #expect(rs.first { $0.name == "data.t.test_ok" }?.outcome == .pass)
        #expect(rs.first { $0.name == "data.t.test_bad" }?.outcome == .fail)
    }
}

@Suite struct PerformanceSmokeTests {
    @Test func gatewayStyleQueryIsFast() throws {
        let src = """
        package systemupdate.authz
        default allow := false
        allow if {
            some role in input.token.payload.realm_access.roles
            some perm in data.roles[role]
            perm.method == input.method
            startswith(input.path, perm.prefix)
        }
        """
        let data = try JSONReader.parse(#"{"roles": {"admin": [{"method": "GET", "prefix": "/api/"}], "viewer": [{"method": "GET", "prefix": "/api/devices"}]}}"#)
        let input = try JSONReader.parse(#"{"method": "GET", "path": "/api/devices/d-42", "token": {"payload": {"realm_access": {"roles": ["viewer"]}}}}"#)
        let q = try PreparedQuery(policy: try PolicyEngine.compile(modules: [("authz.rego", src)], data: data), query: "data.systemupdate.authz.allow")
        #expect(try q.evalValue(input: input) == .true)
        var samples: [UInt64] = []
        for _ in 0..<2000 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try q.evalValue(input: input)
            samples.append(DispatchTime.now().uptimeNanoseconds - t0)
        }
        samples.sort()
        print("allow eval median: \(Double(samples[samples.count / 2]) / 1000) µs (debug build)")
        #expect(samples[samples.count / 2] < 1_000_000)
    }
}
