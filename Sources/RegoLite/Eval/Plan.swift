/// Evaluation plans: compiled rule bodies, built once per policy by the `LowerToPlans` compiler
/// stage (and per prepared query), immutable afterwards and shared by every evaluation.
///
/// The general evaluator (`Evaluator.evalTerm`, `evalExpr`) is continuation-passing: every term
/// may have any number of values, so every step allocates continuations and re-inspects the
/// syntax tree. Most terms of real policies have at most one value: the compiler's safety
/// analysis tells which variables are bound before each expression, and a term whose variables
/// are all bound (and that calls no relation) yields one value or none. Plans evaluate those
/// terms directly (`TermPlan.eval` returns the value, nil for undefined) and run a body as a
/// loop over its expressions, recursing only at expressions that enumerate (`some x in xs`,
/// refs with unbound variables). Constant parts (scalars, ground composites, base-data refs
/// below which no rule lives) are computed once here; rule and function references point at
/// their `RuleNode`.
///
/// Anything else keeps the original term or expression and runs through the general evaluator
/// (`GenericExprPlan`, `GenericTermPlan`), as does every data ref and call while a `with`
/// replacement is active. Plans never change what a policy means: where an answer could
/// depend on the path taken, the plan takes the general path.
///
/// Plans refer to rule nodes `unowned(unsafe)`: nodes own their rules, rules own their plans, and
/// an evaluation always holds the policy (hence every node) alive.

/// How a ref segment looks its key up (see `Evaluator.walk`): scalars and variables also find
/// integer keys of base data under their string form; computed keys do not, and end that mode.
enum SegKind: UInt8 { case constant, local, computed }

/// Where a plan's value can be read without a copy (`Evaluator.withValue`).
enum PlanAccess: UInt8 { case constant, local, computed }

class TermPlan: @unchecked Sendable {
    let segKind: SegKind
    let access: PlanAccess
    /// `.local`: the slot; `.constant`: the value.
    let slot: Int
    let constant: Value
    init(segKind: SegKind, access: PlanAccess = .computed, slot: Int = -1, constant: Value = .null) {
        self.segKind = segKind; self.access = access; self.slot = slot; self.constant = constant
    }
    /// The term's value, nil when undefined.
    func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? { fatalError("abstract TermPlan") }
}

/// A pattern: the left side of `:=`, the variables of `some ... in`, function arguments.
/// Unbound variables are bound (on the evaluator's trail); everything else is compared.
enum PatternPlan: @unchecked Sendable {
    case local(Int)
    case value(TermPlan)
    case array([PatternPlan])
    case object([(TermPlan, PatternPlan)])
}

class ExprPlan: @unchecked Sendable {
    /// Runs `test` (at most one solution, no continuation needed) rather than `iter`.
    let deterministic: Bool
    init(deterministic: Bool) { self.deterministic = deterministic }
    /// Deterministic expressions: whether it holds; bindings it makes are on the trail.
    func test(_ ev: Evaluator, _ f: Frame) throws -> Bool { fatalError("abstract ExprPlan") }
    /// Enumerating expressions: calls `k` once per solution, stops when `k` returns true.
    func iter(_ ev: Evaluator, _ f: Frame, _ k: Cont) throws -> Bool { fatalError("abstract ExprPlan") }
}

/// The plan of one rule, function or `else` chain (see `CompiledRule`).
final class RulePlan: @unchecked Sendable {
    struct Branch {
        let body: [ExprPlan]
        /// The head value (always single-valued: the compiler lifts other values into the body).
        let value: TermPlan
        /// The value is a constant: the first solution of the body is enough.
        let constant: Bool
    }
    /// Function argument patterns; nil when an argument is not a simple pattern (general path).
    let args: [PatternPlan]?
    let main: Branch
    let elses: [Branch]
    /// Partial set rules: the element.
    let key: TermPlan?
    /// Partial object rules: the dynamic head ref terms then the value; nil for the general path.
    let objectTerms: [TermPlan]?
    init(args: [PatternPlan]?, main: Branch, elses: [Branch], key: TermPlan?, objectTerms: [TermPlan]?) {
        self.args = args; self.main = main; self.elses = elses; self.key = key; self.objectTerms = objectTerms
    }
}

// MARK: - Lowering

/// Builds plans from resolved rules and queries. `bound` sets are the slots the safety analysis
/// guarantees to be bound before an expression runs; a plan only assumes a variable is bound
/// when it is in that set (patterns always check at run time).
struct PlanBuilder {
    let root: RuleNode
    let data: Value

    func lowerRule(_ r: CompiledRule) -> RulePlan {
        var argSlots = Set<Int>()
        var args: [PatternPlan]? = []
        for a in r.args {
            var s = Set<Int>(); PlanBuilder.patternLocals(a, into: &s); argSlots.formUnion(s)
        }
        for a in r.args {
            if let p = pattern(a, []) { args?.append(p) } else { args = nil; break }
        }
        let (mainPlans, mainAfter) = lowerBody(r.body, argSlots)
        func branch(_ body: [Expr], _ value: Term?, _ lowered: ([ExprPlan], Set<Int>)? = nil) -> RulePlan.Branch {
            let (plans, after) = lowered ?? lowerBody(body, argSlots)
            let vt = value ?? Term(.scalar(.true), r.location)
            let vp = single(vt, after) ?? GenericTermPlan(vt)
            let constant: Bool = { if case .scalar = vt.kind { return true }; return false }()
            return RulePlan.Branch(body: plans, value: vp, constant: constant)
        }
        let main = branch(r.body, r.value, (mainPlans, mainAfter))
        let elses = r.elses.map { branch($0.body, $0.value) }
        var key: TermPlan?
        var objectTerms: [TermPlan]?
        let after = mainAfter
        if let k = r.key { key = single(k, after) ?? GenericTermPlan(k) }
        if r.kind == .partialObject {
            let vt = r.value ?? Term(.scalar(.true), r.location)
            var ts: [TermPlan] = []
            for t in r.dynamicRef + [vt] {
                if let p = single(t, after) { ts.append(p) } else { ts = []; break }
            }
            objectTerms = ts.count == r.dynamicRef.count + 1 ? ts : nil
        }
        return RulePlan(args: r.isDefault ? [] : args, main: main, elses: elses, key: key, objectTerms: objectTerms)
    }

    /// Plans for a query's expressions, and for each plain term expression its term's plan
    /// when single-valued (see `PreparedQuery.eval`).
    func lowerQuery(_ body: [Expr]) -> ([ExprPlan], [TermPlan?]) {
        var terms: [TermPlan?] = []
        var b = Set<Int>()
        for (i, e) in body.enumerated() {
            terms.append(PreparedQuery.plainTerm(e).flatMap { single($0, b) })
            b = lowerBody([e], b).1
            _ = i
        }
        return (lowerBody(body, []).0, terms)
    }

    /// Plans for a body, and the slots bound after it.
    func lowerBody(_ body: [Expr], _ bound: Set<Int>) -> ([ExprPlan], Set<Int>) {
        var b = bound
        var out: [ExprPlan] = []
        out.reserveCapacity(body.count)
        for e in body {
            out.append(lowerExpr(e, b))
            if !e.negated {
                switch e.kind {
                case .some: break
                case .every(_, _, let d, _): PlanBuilder.topLocals(d, into: &b)
                case .term(let t): PlanBuilder.topLocals(t, into: &b)
                case .someIn(let k, let v, let c):
                    if let k { PlanBuilder.topLocals(k, into: &b) }
                    PlanBuilder.topLocals(v, into: &b); PlanBuilder.topLocals(c, into: &b)
                }
            }
        }
        return (out, b)
    }

    func lowerExpr(_ e: Expr, _ b: Set<Int>) -> ExprPlan {
        if !e.withs.isEmpty { return GenericExprPlan(e) }
        if e.negated {
            var inner = e
            inner.negated = false
            let p = lowerExpr(inner, b)
            if p is GenericExprPlan { return GenericExprPlan(e) }
            return NotPlan(p)
        }
        switch e.kind {
        case .some:
            return NopPlan()
        case .term(let t):
            if case .call(let op, let a) = t.kind {
                guard op == "eq" || op == "assign", a.count == 2 else { return GenericExprPlan(e) }
                return lowerUnify(a[0], a[1], b) ?? GenericExprPlan(e)
            }
            if case .resolvedCall(.builtin(let bi), _) = t.kind, bi.name == "print" { return GenericExprPlan(e) }
            guard let p = single(t, b) else { return GenericExprPlan(e) }
            return TestPlan(p)
        case .someIn(let key, let value, let coll):
            guard let c = single(coll, b), let vp = pattern(value, b) else { return GenericExprPlan(e) }
            var kp: PatternPlan?
            if let key { guard let p = pattern(key, b) else { return GenericExprPlan(e) }; kp = p }
            return SomeInPlan(key: kp, value: vp, collection: c)
        case .every(let key, let value, let dom, let body):
            guard let d = single(dom, b), let vp = pattern(value, b) else { return GenericExprPlan(e) }
            var kp: PatternPlan?
            if let key { guard let p = pattern(key, b) else { return GenericExprPlan(e) }; kp = p }
            var inner = b
            if let key { PlanBuilder.patternLocals(key, into: &inner) }
            PlanBuilder.patternLocals(value, into: &inner)
            return EveryPlan(key: kp, value: vp, domain: d, body: lowerBody(body, inner).0)
        }
    }

    /// `a = b` / `a := b` where one side has one value and the other is a pattern (or also has
    /// one value): evaluate that side, unify the other with it. The general evaluator picks the
    /// side by which one holds unbound variables; the same choice is made here statically.
    func lowerUnify(_ a: Term, _ b: Term, _ bound: Set<Int>) -> ExprPlan? {
        let ua = PlanBuilder.hasUnboundPattern(a, bound), ub = PlanBuilder.hasUnboundPattern(b, bound)
        if ua && ub { return nil }
        let (valueSide, patternSide) = ua ? (b, a) : (a, b)
        guard let v = single(valueSide, bound), let p = pattern(patternSide, bound) else { return nil }
        if case .local(let s) = p { return AssignPlan(slot: s, value: v) }
        return UnifyPlan(value: v, pattern: p)
    }

    // MARK: patterns
    /// A pattern plan for a term in pattern position (`Evaluator.unifyValue`): variables bind or
    /// compare, arrays and objects unify elementwise, anything else is evaluated and compared.
    func pattern(_ t: Term, _ b: Set<Int>) -> PatternPlan? {
        switch t.kind {
        case .local(let s, _): return .local(s)
        case .scalar(let v): return .value(ConstPlan(v, .constant))
        case .array(let items):
            var ps: [PatternPlan] = []
            for x in items { guard let p = pattern(x, b) else { return nil }; ps.append(p) }
            return .array(ps)
        case .object(let pairs):
            var ps: [(TermPlan, PatternPlan)] = []
            for (k, v) in pairs {
                guard let kp = single(k, b), let vp = pattern(v, b) else { return nil }
                ps.append((kp, vp))
            }
            return .object(ps)
        default:
            guard let p = single(t, b) else { return nil }
            return .value(p)
        }
    }

    // MARK: terms
    /// A plan for a term that has at most one value when the slots in `b` are bound; nil when
    /// the term may enumerate or is not covered (the caller takes the general path).
    func single(_ t: Term, _ b: Set<Int>) -> TermPlan? {
        switch t.kind {
        case .scalar(let v):
            return ConstPlan(v, .constant)
        case .local(let s, let name):
            guard b.contains(s) else { return nil }
            return LocalPlan(slot: s, name: name, loc: t.loc)
        case .inputRoot:
            return InputRefPlan(segs: [])
        case .dataRoot:
            return GenericTermPlan(t)
        case .ref(let head, let segs):
            return ref(t, head, segs, b)
        case .array(let items):
            if let v = PlanBuilder.groundValue(t) { return ConstPlan(v, .computed) }
            guard let ps = singles(items, b) else { return nil }
            return ArrayPlan(ps)
        case .set(let items):
            if let v = PlanBuilder.groundValue(t) { return ConstPlan(v, .computed) }
            guard let ps = singles(items, b) else { return nil }
            return SetPlan(ps)
        case .object(let pairs):
            if let v = PlanBuilder.groundValue(t) { return ConstPlan(v, .computed) }
            var ks: [TermPlan] = [], vs: [TermPlan] = []
            for (k, v) in pairs {
                guard let kp = single(k, b), let vp = single(v, b) else { return nil }
                ks.append(kp); vs.append(vp)
            }
            return ObjectPlan(keys: ks, values: vs)
        case .arrayComp(let h, let body):
            let (plans, after) = lowerBody(body, b)
            guard let hp = single(h, after) else { return GenericTermPlan(t) }
            return ArrayCompPlan(head: hp, body: plans)
        case .setComp(let h, let body):
            let (plans, after) = lowerBody(body, b)
            guard let hp = single(h, after) else { return GenericTermPlan(t) }
            return SetCompPlan(head: hp, body: plans)
        case .objectComp(let k, let v, let body):
            let (plans, after) = lowerBody(body, b)
            guard let kp = single(k, after), let vp = single(v, after) else { return GenericTermPlan(t) }
            return ObjectCompPlan(key: kp, value: vp, body: plans, loc: t.loc)
        case .resolvedCall(let target, let args):
            guard let ps = singles(args, b) else { return nil }
            switch target {
            case .builtin(let bi):
                if bi.relation != nil || bi.name == "print" { return nil }
                return BuiltinCallPlan.make(bi, ps, t.loc)
            case .function(let path):
                return FunctionCallPlan(node: root.lookup(path[...]), target: target, args: ps, loc: t.loc)
            }
        case .template:
            // One value (a string), built by the general evaluator.
            var s = Set<Int>(); TermVars.locals(t, into: &s)
            return s.isSubset(of: b) ? GenericTermPlan(t) : nil
        case .call, .variable:
            return nil
        }
    }

    func singles(_ ts: [Term], _ b: Set<Int>) -> [TermPlan]? {
        var out: [TermPlan] = []
        out.reserveCapacity(ts.count)
        for t in ts { guard let p = single(t, b) else { return nil }; out.append(p) }
        return out
    }

    /// Ref segments with one value: scalars, bound variables, and other single-valued terms
    /// whose variables are all bound (never a pattern the general path would iterate with).
    func segments(_ segs: ArraySlice<Term>, _ b: Set<Int>) -> [TermPlan]? {
        var out: [TermPlan] = []
        for s in segs {
            switch s.kind {
            case .scalar(let v): out.append(ConstPlan(v, .constant))
            case .local(let slot, let name):
                guard b.contains(slot) else { return nil }
                out.append(LocalPlan(slot: slot, name: name, loc: s.loc, segKind: .local))
            default:
                // single() fails for any variable outside `b` at this level, so the general
                // path would not iterate with this segment as a pattern either.
                guard let p = single(s, b) else { return nil }
                out.append(p)
            }
        }
        return out
    }

    func ref(_ t: Term, _ head: Term, _ segs: [Term], _ b: Set<Int>) -> TermPlan? {
        guard let sp = segments(segs[...], b) else { return nil }
        switch head.kind {
        case .inputRoot:
            return InputRefPlan(segs: sp)
        case .local(let s, let name):
            guard b.contains(s) else { return nil }
            return LocalRefPlan(slot: s, name: name, loc: head.loc, segs: sp)
        case .dataRoot:
            return dataRef(t, segs, sp)
        default:
            guard let hp = single(head, b) else { return nil }
            return TermRefPlan(head: hp, segs: sp)
        }
    }

    /// `data...` refs: follows the rule tree along the leading string segments as
    /// `Evaluator.evalData` does, and stops at base data (the value below is constant), at a rule
    /// (its memoised value), or at anything else (the general path, still single-valued since
    /// every segment has one value).
    func dataRef(_ t: Term, _ segs: [Term], _ sp: [TermPlan]) -> TermPlan {
        var node: RuleNode? = root
        var base: Value? = data
        var i = 0
        while true {
            guard let n = node, n.hasRules else {
                // Base data: walked with storage semantics; the scalar prefix is constant.
                var v = base
                var j = i
                while j < segs.count, case .scalar(let key) = segs[j].kind {
                    v = v.flatMap { Evaluator.storageGet($0, key) }
                    j += 1
                }
                return BaseDataRefPlan(base: v, segs: Array(sp[j...]), original: t)
            }
            if !n.rules.isEmpty || n.defaultRule != nil {
                guard n.children.isEmpty else { return GenericTermPlan(t) }
                if let b = base { return RuleBaseRefPlan(base: b, segs: Array(sp[i...]), original: t) }
                return RuleRefPlan(node: n, segs: Array(sp[i...]), original: t)
            }
            guard n.functions.isEmpty, i < segs.count, case .scalar(.string(let s)) = segs[i].kind else {
                return GenericTermPlan(t)
            }
            if let child = n.children[s] { node = child } else { node = nil }
            base = base?[.string(s)]
            i += 1
        }
    }

    // MARK: static helpers
    /// The value of a composite literal made only of scalars (as the evaluator would build it).
    static func groundValue(_ t: Term) -> Value? {
        switch t.kind {
        case .scalar(let v): return v
        case .array(let items):
            var out: [Value] = []
            for x in items { guard let v = groundValue(x) else { return nil }; out.append(v) }
            return .array(out)
        case .set(let items):
            var out: [Value] = []
            for x in items { guard let v = groundValue(x) else { return nil }; out.append(v) }
            return .set(RegoSet(out))
        case .object(let pairs):
            var ps: [(Value, Value)] = []
            for (k, v) in pairs { guard let kv = groundValue(k), let vv = groundValue(v) else { return nil }; ps.append((kv, vv)) }
            return .object(RegoObject(pairs: ps))
        default: return nil
        }
    }

    /// Variables of a term outside nested comprehension bodies: bound once the expression
    /// holding the term succeeded.
    static func topLocals(_ t: Term, into s: inout Set<Int>) {
        switch t.kind {
        case .local(let i, _): s.insert(i)
        case .ref(let h, let segs): topLocals(h, into: &s); for x in segs { topLocals(x, into: &s) }
        case .array(let a), .set(let a): for x in a { topLocals(x, into: &s) }
        case .object(let ps): for (k, v) in ps { topLocals(k, into: &s); topLocals(v, into: &s) }
        case .call(_, let a), .resolvedCall(_, let a): for x in a { topLocals(x, into: &s) }
        case .template(let parts): for p in parts { if case .term(let x) = p { topLocals(x, into: &s) } }
        default: break
        }
    }

    /// Variables in pattern positions (as `Evaluator.isUnboundPattern` looks at them).
    static func patternLocals(_ t: Term, into s: inout Set<Int>) {
        switch t.kind {
        case .local(let i, _): s.insert(i)
        case .array(let a): for x in a { patternLocals(x, into: &s) }
        case .object(let ps): for (_, v) in ps { patternLocals(v, into: &s) }
        default: break
        }
    }

    /// Whether a term is a pattern with a variable that is not bound (`Evaluator.isUnboundPattern`).
    static func hasUnboundPattern(_ t: Term, _ b: Set<Int>) -> Bool {
        switch t.kind {
        case .local(let s, _): return !b.contains(s)
        case .array(let a): return a.contains { hasUnboundPattern($0, b) }
        case .object(let ps): return ps.contains { hasUnboundPattern($0.1, b) }
        default: return false
        }
    }
}
