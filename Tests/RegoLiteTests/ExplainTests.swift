import Foundation
import Testing
@testable import RegoLite

/// `PreparedQuery.explain`: which bodies of the queried rule were tried and where each stopped.
@Suite struct ExplainTests {
    static let source = """
        package t

        default allow := false

        allow if {
            input.user == "admin"
        }

        allow if {
            input.method == "GET"
            input.path == "/public"
            input.user != "banned"
        }

        level := 1 if {
            input.x == 1
        } else := 2 if {
            input.x == 2
        } else := 3
        """

    static func query(_ text: String = "data.t.allow", source: String = source) throws -> PreparedQuery {
        let policy = try PolicyEngine.compile(modules: [("authz.rego", source)])
        return try PreparedQuery(policy: policy, query: text)
    }

    static func input(_ json: String) throws -> Value { try JSONReader.parse(json) }

    @Test func everyBodyOfADeniedRuleIsListedWithItsFailingExpression() throws {
        let explanation = try #require(try Self.query().explain(input: Self.input(#"{"user": "bob", "method": "GET", "path": "/private"}"#)))
        #expect(explanation.rule == "data.t.allow")
        #expect(explanation.defaulted)
        #expect(explanation.outcomes.count == 2)
        let first = explanation.outcomes[0], second = explanation.outcomes[1]
        #expect(first.result == .failed && first.definition == 0)
        #expect(first.failedExpression?.index == 0)
        #expect(first.failedExpression?.location == Location(file: "authz.rego", line: 6, column: 5))
        #expect(first.failedExpression?.text == #"input.user == "admin""#)
        #expect(second.result == .failed && second.definition == 1)
        #expect(second.failedExpression?.index == 1)
        #expect(second.failedExpression?.location.line == 11)
        #expect(second.failedExpression?.text == #"input.path == "/public""#)
    }

    @Test func anAllowedRuleShowsTheBodyThatSucceeded() throws {
        let explanation = try #require(try Self.query().explain(input: Self.input(#"{"user": "admin"}"#)))
        #expect(!explanation.defaulted)
        #expect(explanation.outcomes.first?.result == .succeeded)
        #expect(explanation.outcomes.first?.failedExpression == nil)
    }

    @Test func anElseChainStopsAtTheBodyThatProducesAValue() throws {
        let explanation = try #require(try Self.query("data.t.level").explain(input: Self.input(#"{"x": 2}"#)))
        #expect(explanation.outcomes.map(\.elseIndex) == [0, 1])
        #expect(explanation.outcomes.map(\.result) == [.failed, .succeeded])
        #expect(explanation.outcomes[0].failedExpression?.text == "input.x == 1")
    }

    @Test func iterationReportsTheFurthestExpressionReached() throws {
        let source = """
            package t
            allow if {
                some role in input.roles
                role == "admin"
                input.tenant == "a"
            }
            """
        let explanation = try #require(try Self.query(source: source).explain(
            input: Self.input(#"{"roles": ["viewer", "admin"], "tenant": "b"}"#)))
        #expect(explanation.outcomes.count == 1)
        #expect(explanation.outcomes[0].failedExpression?.index == 2)
        #expect(explanation.outcomes[0].failedExpression?.text == #"input.tenant == "a""#)
        #expect(!explanation.defaulted)
    }

    @Test func anEvaluationErrorIsReported() throws {
        let source = """
            package t
            allow if {
                x := input.a / input.b
                x > 1
            }
            """
        let explanation = try #require(try Self.query(source: source).explain(
            input: Self.input(#"{"a": 1, "b": 0}"#), options: EvalOptions(strictBuiltinErrors: true)))
        #expect(explanation.outcomes.first?.result == .error)
        #expect(explanation.outcomes.first?.error?.contains("divide by zero") == true)
    }

    @Test func aDecisionObjectCanAlsoExplainItsAllowRule() throws {
        let source = Self.source + "\ndecision := {\"allow\": allow}\n"
        let explanation = try #require(try Self.query("data.t.decision", source: source).explain(
            input: Self.input(#"{"user": "bob"}"#), alsoRule: "allow"))
        #expect(explanation.outcomes.map(\.rule) == ["data.t.decision", "data.t.allow", "data.t.allow"])
        #expect(explanation.outcomes[0].result == .succeeded)
        #expect(explanation.outcomes[1].result == .failed)
    }

    @Test func queriesThatAreNotARuleReferenceAreNotExplained() throws {
        #expect(try Self.query("x := data.t.allow").explain(input: nil) == nil)
        #expect(try Self.query("data.t").explain(input: nil) == nil)
    }

    @Test func explainingGivesTheSameAnswerAsEvaluating() throws {
        let q = try Self.query()
        for json in [#"{"user": "admin"}"#, #"{"user": "x", "method": "GET", "path": "/public"}"#, #"{"user": "x"}"#] {
            let value = try q.evalValue(input: Self.input(json))
            let explanation = try #require(q.explain(input: try Self.input(json)))
            #expect((value == .true) == explanation.outcomes.contains { $0.result == .succeeded })
        }
    }

    @Test func theJSONFormNamesTheFailingExpression() throws {
        let explanation = try #require(try Self.query().explain(input: Self.input(#"{"user": "bob"}"#)))
        let text = JSONWriter.write(explanation.json)
        #expect(text.contains(#""location":"authz.rego:6:5""#))
        #expect(text.contains(#""result":"failed""#))
        #expect(text.contains(#""defaulted":true"#))
    }

    @Test func theDefaultBundleExplainsADeniedAcknowledgement() throws {
        let (policy, _) = try DefaultBundleTests.loadBundle()
        let query = try PreparedQuery(policy: policy, query: "data.systemupdate.authz.allow")
        let input = try DefaultBundleTests.input(route: "commands", method: "PATCH", segments: ["commands", "c-1", "ack"], roles: ["operator"])
        #expect(try query.evalValue(input: input) == .false)
        let explanation = try #require(query.explain(input: input))
        #expect(explanation.defaulted)
        #expect(!explanation.outcomes.isEmpty)
        #expect(explanation.outcomes.allSatisfy { $0.result == .failed && $0.failedExpression != nil })
        #expect(explanation.outcomes.allSatisfy { $0.failedExpression!.location.file.hasSuffix("authz.rego") })
    }
}
