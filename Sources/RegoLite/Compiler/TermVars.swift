/// Variable collection over terms and expressions.
enum TermVars {
    /// Names used at this level of a body (not inside nested comprehension or `every` bodies).
    static func levelNames(_ e: Expr, into s: inout Set<String>) {
        switch e.kind {
        case .term(let t):
            // Names declared with `:=` are new locals: they do not capture nested uses.
            if case .call("assign", let a) = t.kind, a.count == 2 {
                termLevelNames(a[1], into: &s)
                var lhs = Set<String>(); termLevelNames(a[0], into: &lhs); var decl = Set<String>(); patternNames(a[0], into: &decl)
                s.formUnion(lhs.subtracting(decl))
            } else { termLevelNames(t, into: &s) }
        case .some: break
        case .someIn(_, _, let c): termLevelNames(c, into: &s)
        case .every(_, _, let d, _): termLevelNames(d, into: &s)
        }
        for w in e.withs where w.value.varName == nil { termLevelNames(w.value, into: &s) }
    }

    static func termLevelNames(_ t: Term, into s: inout Set<String>) {
        switch t.kind {
        case .variable(let n): if n != "_" { s.insert(n) }
        case .ref(let h, let segs): termLevelNames(h, into: &s); for x in segs { termLevelNames(x, into: &s) }
        case .array(let a), .set(let a): for x in a { termLevelNames(x, into: &s) }
        case .object(let ps): for (k, v) in ps { termLevelNames(k, into: &s); termLevelNames(v, into: &s) }
        case .call(_, let a), .resolvedCall(_, let a): for x in a { termLevelNames(x, into: &s) }
        case .template(let parts): for p in parts { if case .term(let x) = p { termLevelNames(x, into: &s) } }
        default: break
        }
    }

    /// Removes names declared at this level (`:=`, `some`): they never capture nested uses.
    static func declaredNames(_ e: Expr, into s: inout Set<String>) {
        switch e.kind {
        case .term(let t):
            if case .call("assign", let a) = t.kind, a.count == 2 { var d = Set<String>(); patternNames(a[0], into: &d); s.subtract(d) }
        case .some(let vs): for v in vs { if let n = v.varName { s.remove(n) } }
        case .someIn(let k, let v, _):
            var d = Set<String>(); if let k { patternNames(k, into: &d) }; patternNames(v, into: &d); s.subtract(d)
        default: break
        }
    }

    /// Names in pattern positions: the term itself if a var, elements of arrays, values of objects.
    static func patternNames(_ t: Term, into s: inout Set<String>) {
        switch t.kind {
        case .variable(let n): s.insert(n)
        case .array(let a): for x in a { patternNames(x, into: &s) }
        case .object(let ps): for (_, v) in ps { patternNames(v, into: &s) }
        default: break
        }
    }

    /// Every local slot in a term, including inside comprehensions.
    static func locals(_ t: Term, into s: inout Set<Int>) {
        switch t.kind {
        case .local(let i, _): s.insert(i)
        case .ref(let h, let segs): locals(h, into: &s); for x in segs { locals(x, into: &s) }
        case .array(let a), .set(let a): for x in a { locals(x, into: &s) }
        case .object(let ps): for (k, v) in ps { locals(k, into: &s); locals(v, into: &s) }
        case .call(_, let a), .resolvedCall(_, let a): for x in a { locals(x, into: &s) }
        case .arrayComp(let h, let b), .setComp(let h, let b): locals(h, into: &s); for e in b { exprLocals(e, into: &s) }
        case .objectComp(let k, let v, let b): locals(k, into: &s); locals(v, into: &s); for e in b { exprLocals(e, into: &s) }
        case .template(let parts): for p in parts { if case .term(let x) = p { locals(x, into: &s) } }
        default: break
        }
    }

    static func exprLocals(_ e: Expr, into s: inout Set<Int>) {
        switch e.kind {
        case .term(let t): locals(t, into: &s)
        case .some(let vs): for v in vs { locals(v, into: &s) }
        case .someIn(let k, let v, let c): if let k { locals(k, into: &s) }; locals(v, into: &s); locals(c, into: &s)
        case .every(let k, let v, let d, let b):
            if let k { locals(k, into: &s) }
            locals(v, into: &s); locals(d, into: &s); for x in b { exprLocals(x, into: &s) }
        }
        for w in e.withs { locals(w.value, into: &s) }
    }

    static func localNames(_ t: Term, into s: inout [Int: String]) {
        switch t.kind {
        case .local(let i, let n): s[i] = n
        case .ref(let h, let segs): localNames(h, into: &s); for x in segs { localNames(x, into: &s) }
        case .array(let a), .set(let a): for x in a { localNames(x, into: &s) }
        case .object(let ps): for (k, v) in ps { localNames(k, into: &s); localNames(v, into: &s) }
        case .call(_, let a), .resolvedCall(_, let a): for x in a { localNames(x, into: &s) }
        case .arrayComp(let h, let b), .setComp(let h, let b): localNames(h, into: &s); for e in b { exprLocalNames(e, into: &s) }
        case .objectComp(let k, let v, let b): localNames(k, into: &s); localNames(v, into: &s); for e in b { exprLocalNames(e, into: &s) }
        case .template(let parts): for p in parts { if case .term(let x) = p { localNames(x, into: &s) } }
        default: break
        }
    }

    static func exprLocalNames(_ e: Expr, into s: inout [Int: String]) {
        switch e.kind {
        case .term(let t): localNames(t, into: &s)
        case .some(let vs): for v in vs { localNames(v, into: &s) }
        case .someIn(let k, let v, let c): if let k { localNames(k, into: &s) }; localNames(v, into: &s); localNames(c, into: &s)
        case .every(let k, let v, let d, let b):
            if let k { localNames(k, into: &s) }
            localNames(v, into: &s); localNames(d, into: &s); for x in b { exprLocalNames(x, into: &s) }
        }
        for w in e.withs { localNames(w.value, into: &s) }
    }
}

extension TermKind {
    var callName: String? {
        switch self {
        case .call(let n, _): return n
        case .resolvedCall(let t, _):
            switch t { case .builtin(let b): return b.name; case .function(let p): return p.joined(separator: ".") }
        default: return nil
        }
    }
}
