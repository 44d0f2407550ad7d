import Foundation

/// What a rule contributes to the document at its path.
public enum RuleKind: Sendable, Equatable {
    /// `p := v`: one value at the path.
    case complete
    /// `p contains x`: a set.
    case partialSet
    /// `p[k] := v`, `p.a[k].b := v`: an object built from dynamic head keys.
    case partialObject
    /// `f(x) := v`.
    case function
}

/// One rule after compilation: variables are frame slots, the body is reordered for safety.
/// `plan` is set once by the compiler's last stage, before the policy is published; it is
/// never written afterwards (hence `@unchecked Sendable`).
public final class CompiledRule: @unchecked Sendable {
    public let kind: RuleKind
    /// Ground path from the data root (package + ground prefix of the head).
    public let path: [String]
    /// Head ref terms after the ground prefix (partial-object rules).
    let dynamicRef: [Term]
    let key: Term?
    let value: Term?
    let args: [Term]
    let body: [Expr]
    let elses: [(value: Term?, body: [Expr])]
    public let isDefault: Bool
    let frameSize: Int
    public let location: Location
    /// The head value is a constant: one solution per body is enough.
    let constantValue: Bool
    /// What the evaluator runs (`Plan.swift`).
    var plan: RulePlan?

    init(kind: RuleKind, path: [String], dynamicRef: [Term], key: Term?, value: Term?, args: [Term], body: [Expr],
         elses: [(value: Term?, body: [Expr])], isDefault: Bool, frameSize: Int, location: Location) {
        self.kind = kind; self.path = path; self.dynamicRef = dynamicRef; self.key = key; self.value = value
        self.args = args; self.body = body; self.elses = elses; self.isDefault = isDefault
        self.frameSize = frameSize; self.location = location
        if let v = value, case .scalar = v.kind { constantValue = true } else { constantValue = value == nil }
    }
}

/// A node of the rule tree: rules defined exactly at this path, and children by key.
public final class RuleNode: @unchecked Sendable {
    public let path: [String]
    public internal(set) var children: [String: RuleNode] = [:]
    public internal(set) var rules: [CompiledRule] = []
    public internal(set) var defaultRule: CompiledRule?
    public internal(set) var functions: [CompiledRule] = []
    /// Sorted child keys (deterministic iteration).
    public internal(set) var childKeys: [String] = []
    /// Any rule at or below this node.
    public internal(set) var hasRules = false
    /// Position in the evaluator's rule-value cache (`CompiledPolicy.nodeCount` in all).
    var index = 0
    init(path: [String]) { self.path = path }

    func child(_ k: String) -> RuleNode {
        if let c = children[k] { return c }
        let c = RuleNode(path: path + [k]); children[k] = c; return c
    }
    func lookup(_ p: ArraySlice<String>) -> RuleNode? {
        var n = self
        for k in p { guard let c = n.children[k] else { return nil }; n = c }
        return n
    }
    var kind: RuleKind? { rules.first?.kind ?? defaultRule?.kind }
}

/// Timing of one compiler stage.
public struct StageTiming: Sendable {
    public let name: String
    public let seconds: Double
}

/// The immutable output of the compiler. Safe to evaluate from many threads at once.
public final class CompiledPolicy: @unchecked Sendable {
    public let root: RuleNode
    public let data: Value
    public let modules: [Module]
    public let builtins: BuiltinRegistry
    public let stageTimings: [StageTiming]
    let regexes: [String: NSRegularExpression]
    /// Number of rule nodes (their `index` values are 0..<nodeCount).
    let nodeCount: Int
    init(root: RuleNode, data: Value, modules: [Module], builtins: BuiltinRegistry, stageTimings: [StageTiming], regexes: [String: NSRegularExpression], nodeCount: Int) {
        self.root = root; self.data = data; self.modules = modules; self.builtins = builtins
        self.stageTimings = stageTimings; self.regexes = regexes; self.nodeCount = nodeCount
    }

    /// All `test_*` rules (complete rules whose last path segment starts with `test_`).
    public var testRules: [[String]] {
        var out: [[String]] = []
        func walk(_ n: RuleNode) {
            if let r = n.rules.first, r.kind == .complete, let last = n.path.last, last.hasPrefix("test_") { out.append(n.path) }
            for k in n.childKeys { walk(n.children[k]!) }
        }
        walk(root)
        return out
    }
}
