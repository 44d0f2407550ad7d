/// The abstract syntax tree. The parser produces it with plain variables; the compiler rewrites
/// variables to frame slots (`.local`) and calls to resolved targets before evaluation.
public struct Term: Sendable {
    public var kind: TermKind
    public var loc: Location
    init(_ kind: TermKind, _ loc: Location) { self.kind = kind; self.loc = loc }
}

public indirect enum TermKind: Sendable {
    case scalar(Value)
    case variable(String)
    /// A variable resolved to a slot of the rule's frame.
    case local(Int, String)
    case dataRoot
    case inputRoot
    case ref(Term, [Term])
    case array([Term])
    case set([Term])
    case object([(Term, Term)])
    case arrayComp(Term, [Expr])
    case setComp(Term, [Expr])
    case objectComp(Term, Term, [Expr])
    /// A call as written: dotted name and arguments.
    case call(String, [Term])
    /// A call resolved by the compiler.
    case resolvedCall(CallTarget, [Term])
    /// `$"..."`: literal parts and interpolated terms.
    case template([TemplatePart])
}

public enum TemplatePart: Sendable {
    case text(String)
    case term(Term)
}

/// What a call refers to after compilation.
public enum CallTarget: Sendable {
    case builtin(Builtin)
    /// A user function at a data path (all its definitions).
    case function([String])
}

public struct WithModifier: Sendable {
    public var target: Term
    public var value: Term
    public var loc: Location
}

public struct Expr: Sendable {
    public var kind: ExprKind
    public var negated: Bool = false
    public var withs: [WithModifier] = []
    public var loc: Location
    init(_ kind: ExprKind, _ loc: Location) { self.kind = kind; self.loc = loc }
}

public indirect enum ExprKind: Sendable {
    case term(Term)
    /// `some x, y` (declarations only).
    case some([Term])
    /// `some v in xs` / `some k, v in xs`.
    case someIn(key: Term?, value: Term, collection: Term)
    /// `every v in xs { ... }` / `every k, v in xs { ... }`.
    case every(key: Term?, value: Term, domain: Term, body: [Expr])
}

public struct ElseClause: Sendable {
    public var value: Term?
    public var body: [Expr]
    public var loc: Location
}

public struct RuleHead: Sendable {
    /// Head reference: first element is the rule name as a variable, then ref segments.
    public var ref: [Term]
    public var args: [Term]?
    /// `contains` key for partial-set rules.
    public var key: Term?
    public var value: Term?
    public var assign: Bool
    public var loc: Location
}

public struct Rule: Sendable {
    public var head: RuleHead
    public var body: [Expr]
    public var elses: [ElseClause]
    public var isDefault: Bool
    public var loc: Location
    /// Source of the module (for error excerpts).
    public var bodyIsImplicit: Bool
}

public struct Import: Sendable {
    public var path: Term
    public var alias: String?
    public var loc: Location
}

public struct Module: Sendable {
    public var package: [String]
    public var packageLoc: Location
    public var imports: [Import]
    public var rules: [Rule]
    public var source: SourceFile
}

extension Term {
    var isGroundScalar: Bool { if case .scalar = kind { return true }; return false }
    var varName: String? {
        switch kind { case .variable(let n): return n; case .local(_, let n): return n; default: return nil }
    }
}
