/// Safety: every variable must be bound by some expression before it is used. Bodies are
/// reordered like OPA's `reorderBodyForSafety`: repeatedly take, in order, the expressions whose
/// inputs are bound.
enum Safety {
    struct Ctx {
        /// Slots owned by the body's scope and its ancestors (closure variables of comprehensions).
        let visible: Set<Int>
        /// Slots that occur in more than one expression of the body.
        let shared: Set<Int>
    }

    static func isAssignable(_ t: Term) -> Bool {
        switch t.kind {
        case .variable, .local: return true
        case .array(let a): return a.allSatisfy { isAssignable($0) || isGroundish($0) }
        case .object(let ps): return ps.allSatisfy { isAssignable($0.1) || isGroundish($0.1) }
        default: return false
        }
    }
    static func isGroundish(_ t: Term) -> Bool { if case .scalar = t.kind { return true }; return false }
    static func kindName(_ t: Term) -> String {
        switch t.kind {
        case .ref: return "ref"
        case .call, .resolvedCall: return "call"
        case .scalar(let v): return v.typeName
        case .set: return "set"
        default: return "term"
        }
    }

    static func reorder(_ exprs: [Expr], bound: Set<Int>, scope: Scope, extraTerms: [Term]) throws -> ([Expr], Set<Int>) {
        var counts: [Int: Int] = [:]
        for e in exprs { var s = Set<Int>(); TermVars.exprLocals(e, into: &s); for v in s { counts[v, default: 0] += 1 } }
        let ctx = Ctx(visible: scope.visible, shared: Set(counts.filter { $0.value > 1 }.keys))
        var b = bound
        var remaining = exprs
        var out: [Expr] = []
        out.reserveCapacity(exprs.count)
        while !remaining.isEmpty {
            var progress = false
            var i = 0
            while i < remaining.count {
                if let o = analyze(remaining[i], b, ctx) {
                    b.formUnion(o); out.append(remaining.remove(at: i)); progress = true
                } else { i += 1 }
            }
            if !progress {
                let e = remaining[0]
                var vars = Set<Int>(); TermVars.exprLocals(e, into: &vars)
                var names: [Int: String] = [:]; TermVars.exprLocalNames(e, into: &names)
                let unsafe = vars.intersection(ctx.visible).subtracting(b).compactMap { names[$0] }.filter { !$0.isEmpty }
                let list = Set(unsafe).sorted()
                throw RegoError(code: .unsafeVar, message: list.isEmpty ? "expression is unsafe" : list.map { "var \($0) is unsafe" }.joined(separator: ", "), location: e.loc)
            }
        }
        return (out, b)
    }

    /// The variables an expression binds when run with `b` bound, or nil when it cannot run yet.
    static func analyze(_ e: Expr, _ b: Set<Int>, _ c: Ctx) -> Set<Int>? {
        var needs = Set<Int>()
        var provides = Set<Int>()
        for w in e.withs { evalVars(w.value, c, &needs, &provides) }
        if e.negated {
            var all = Set<Int>(); TermVars.exprLocals(e, into: &all)
            // Variables that occur only inside the negation are local to it.
            let external = all.intersection(c.visible).filter { c.shared.contains($0) || b.contains($0) }
            needs.formUnion(external)
            needs.formUnion(provides)
            return needs.isSubset(of: b) ? [] : nil
        }
        var out = Set<Int>()
        switch e.kind {
        case .term(let t):
            if case .call(let op, let a) = t.kind, (op == "eq" || op == "assign"), a.count == 2 {
                guard let o = unify(a[0], a[1], b, c) else { return nil }
                out = o
            } else {
                evalVars(t, c, &needs, &provides)
                out = provides
            }
        case .some: return []
        case .someIn(let k, let v, let coll):
            evalVars(coll, c, &needs, &provides)
            var pv = Set<Int>()
            if let k { pattern(k, c, &pv, &needs, &provides) }
            pattern(v, c, &pv, &needs, &provides)
            out = pv.union(provides)
        case .every(_, _, let d, let body):
            evalVars(d, c, &needs, &provides)
            var inner = Set<Int>(); for x in body { TermVars.exprLocals(x, into: &inner) }
            needs.formUnion(inner.intersection(c.visible))
            out = provides
        }
        needs.subtract(provides)
        return needs.isSubset(of: b) ? out : nil
    }

    static func unify(_ a: Term, _ bt: Term, _ b: Set<Int>, _ c: Ctx) -> Set<Int>? {
        var pa = Set<Int>(), na = Set<Int>(), pra = Set<Int>()
        var pb = Set<Int>(), nb = Set<Int>(), prb = Set<Int>()
        pattern(a, c, &pa, &na, &pra)
        pattern(bt, c, &pb, &nb, &prb)
        let needs = na.union(nb).subtracting(pra).subtracting(prb)
        guard needs.isSubset(of: b) else {
            // Elementwise for two array/object patterns.
            return pairwise(a, bt, b, c)
        }
        let ua = pa.subtracting(b), ub = pb.subtracting(b)
        if ua.isEmpty || ub.isEmpty { return ua.union(ub).union(pra).union(prb) }
        return pairwise(a, bt, b, c)
    }

    static func pairwise(_ a: Term, _ bt: Term, _ b: Set<Int>, _ c: Ctx) -> Set<Int>? {
        var pairs: [(Term, Term)] = []
        switch (a.kind, bt.kind) {
        case (.array(let x), .array(let y)) where x.count == y.count: pairs = Array(zip(x, y))
        case (.object(let x), .object(let y)) where x.count == y.count:
            // keys must be scalars to pair them statically
            var m: [Value: Term] = [:]
            for (k, v) in y { guard case .scalar(let kv) = k.kind else { return nil }; m[kv] = v }
            for (k, v) in x { guard case .scalar(let kv) = k.kind, let w = m[kv] else { return nil }; pairs.append((v, w)) }
        default: return nil
        }
        var bb = b
        var rest = pairs
        while !rest.isEmpty {
            var progress = false
            var i = 0
            while i < rest.count {
                if let o = unify(rest[i].0, rest[i].1, bb, c) { bb.formUnion(o); rest.remove(at: i); progress = true } else { i += 1 }
            }
            if !progress { return nil }
        }
        return bb.subtracting(b)
    }

    /// Variables a term needs bound, and those it binds by iteration, when evaluated.
    static func evalVars(_ t: Term, _ c: Ctx, _ needs: inout Set<Int>, _ provides: inout Set<Int>) {
        switch t.kind {
        case .local(let s, _): needs.insert(s)
        case .ref(let h, let segs):
            evalVars(h, c, &needs, &provides)
            for s in segs {
                switch s.kind {
                case .local(let v, _): provides.insert(v)
                case .array, .object:
                    var pv = Set<Int>(); pattern(s, c, &pv, &needs, &provides); provides.formUnion(pv)
                default: evalVars(s, c, &needs, &provides)
                }
            }
        case .array(let a), .set(let a): for x in a { evalVars(x, c, &needs, &provides) }
        case .object(let ps): for (k, v) in ps { evalVars(k, c, &needs, &provides); evalVars(v, c, &needs, &provides) }
        case .call(_, let a), .resolvedCall(_, let a): for x in a { evalVars(x, c, &needs, &provides) }
        case .arrayComp, .setComp, .objectComp:
            var all = Set<Int>(); TermVars.locals(t, into: &all)
            needs.formUnion(all.intersection(c.visible))
        case .template(let parts): for p in parts { if case .term(let x) = p { evalVars(x, c, &needs, &provides) } }
        default: break
        }
    }

    static func pattern(_ t: Term, _ c: Ctx, _ pv: inout Set<Int>, _ needs: inout Set<Int>, _ provides: inout Set<Int>) {
        switch t.kind {
        case .local(let s, _): pv.insert(s)
        case .array(let a): for x in a { pattern(x, c, &pv, &needs, &provides) }
        case .object(let ps): for (k, v) in ps { evalVars(k, c, &needs, &provides); pattern(v, c, &pv, &needs, &provides) }
        default: evalVars(t, c, &needs, &provides)
        }
    }
}
