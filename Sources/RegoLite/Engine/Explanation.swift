/// "Why was I denied?": for the rule a query reads, every body that was tried and the expression
/// at which each one stopped, without a trace. Computed by a second evaluation of the query
/// (`PreparedQuery.explain`), so the evaluation that decides pays nothing for it; callers run it
/// only for answers worth explaining (a deny, an undefined decision).
public struct Explanation: Sendable, Equatable {
    /// `data.pkg.rule`, as the query names it.
    public let rule: String
    public let outcomes: [RuleBodyOutcome]
    /// No body produced a value and the rule's `default` gave it.
    public let defaulted: Bool

    public init(rule: String, outcomes: [RuleBodyOutcome], defaulted: Bool) {
        self.rule = rule; self.outcomes = outcomes; self.defaulted = defaulted
    }

    /// OPA-style JSON: `{"rule", "defaulted", "bodies": [...]}` (see `RuleBodyOutcome.json`).
    public var json: Value {
        .object(RegoObject(pairs: [
            (.string("rule"), .string(rule)),
            (.string("defaulted"), .bool(defaulted)),
            (.string("bodies"), .array(outcomes.map(\.json))),
        ]))
    }
}

/// One body of one rule definition (the main body or one `else`) and how far it got.
public struct RuleBodyOutcome: Sendable, Equatable {
    public enum Result: String, Sendable {
        /// The body held and the head produced a value.
        case succeeded
        /// No solution: `failedExpression` is where it stopped.
        case failed
        /// Evaluation raised an error (its message is in `error`).
        case error
    }

    /// The expression a body stopped at: the furthest one reached over all its solutions tried
    /// (for a body without `some`/iteration, the first expression that was false or undefined).
    public struct FailedExpression: Sendable, Equatable {
        /// Position in the compiled body (the compiler may reorder expressions for safety).
        public let index: Int
        public let location: Location
        /// The expression's source line from its column, trimmed (at most 200 characters);
        /// `<head value>` when the body held but the head's value was undefined.
        public let text: String
    }

    /// `data.pkg.rule`.
    public let rule: String
    /// Which definition of the rule (0-based, in source order across modules).
    public let definition: Int
    /// 0 for the main body, n for the n-th `else`.
    public let elseIndex: Int
    /// Where the definition (or the `else`) starts.
    public let location: Location
    public let result: Result
    public let failedExpression: FailedExpression?
    public let error: String?

    public var json: Value {
        var pairs: [(Value, Value)] = [
            (.string("rule"), .string(rule)),
            (.string("definition"), .int(definition)),
            (.string("else"), .int(elseIndex)),
            (.string("location"), .string(location.description)),
            (.string("result"), .string(result.rawValue)),
        ]
        if let failed = failedExpression {
            pairs.append((.string("failed_at"), .object(RegoObject(pairs: [
                (.string("index"), .int(failed.index)),
                (.string("location"), .string(failed.location.description)),
                (.string("text"), .string(failed.text)),
            ]))))
        }
        if let error { pairs.append((.string("error"), .string(error))) }
        return .object(RegoObject(pairs: pairs))
    }
}

extension PreparedQuery {
    /// The rule this query reads when it is a plain reference to one (`data.a.b.allow`): its path.
    var explainedRulePath: [String]? {
        guard body.count == 1, let t = PreparedQuery.plainTerm(body[0]), case .ref(let head, let segs) = t.kind,
              case .dataRoot = head.kind else { return nil }
        var path: [String] = []
        for s in segs {
            guard case .scalar(.string(let key)) = s.kind else { return nil }
            path.append(key)
        }
        return path
    }

    /// Explains the rule the query reads (see `Explanation`); nil when the query is not a plain
    /// reference to a rule (`data.pkg.rule`), which is the only shape worth explaining.
    ///
    /// When that rule is a decision object (`decision := {"allow": allow, ...}`), its bodies
    /// usually hold while the interesting part is `allow`: pass `alsoRule: "allow"` to explain
    /// the rule of that name in the same package as well (its outcomes are appended).
    public func explain(input: Value?, options: EvalOptions = EvalOptions(), alsoRule: String? = nil) -> Explanation? {
        guard let path = explainedRulePath, let node = policy.root.lookup(path[...]),
              !node.rules.isEmpty || node.defaultRule != nil, node.kind != .function else { return nil }
        let ev = Evaluator(policy: policy, input: input, options: options)
        var (outcomes, defaulted) = ev.explainRule(node)
        if let alsoRule, let sibling = policy.root.lookup((path.dropLast() + [alsoRule])[...]), sibling !== node,
           !sibling.rules.isEmpty, sibling.kind != .function {
            outcomes += ev.explainRule(sibling).0
        }
        return Explanation(rule: "data." + path.joined(separator: "."), outcomes: outcomes, defaulted: defaulted)
    }
}
