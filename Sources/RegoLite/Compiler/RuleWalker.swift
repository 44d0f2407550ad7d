/// Read-only walks over compiled rules (dependencies, constant patterns).
enum RuleWalker {
    static func forEachTerm(rule r: CompiledRule, _ f: (Term) -> Void) {
        func term(_ t: Term) {
            f(t)
            switch t.kind {
            case .ref(let h, let segs): term(h); segs.forEach(term)
            case .array(let a), .set(let a): a.forEach(term)
            case .object(let ps): for (k, v) in ps { term(k); term(v) }
            case .call(_, let a), .resolvedCall(_, let a): a.forEach(term)
            case .arrayComp(let h, let b), .setComp(let h, let b): term(h); b.forEach(expr)
            case .objectComp(let k, let v, let b): term(k); term(v); b.forEach(expr)
            case .template(let parts): for p in parts { if case .term(let x) = p { term(x) } }
            default: break
            }
        }
        func expr(_ e: Expr) {
            switch e.kind {
            case .term(let t): term(t)
            case .some(let vs): vs.forEach(term)
            case .someIn(let k, let v, let c): if let k { term(k) }; term(v); term(c)
            case .every(let k, let v, let d, let b): if let k { term(k) }; term(v); term(d); b.forEach(expr)
            }
            for w in e.withs { term(w.target); term(w.value) }
        }
        r.body.forEach(expr)
        for e in r.elses { e.body.forEach(expr); if let v = e.value { term(v) } }
        r.dynamicRef.forEach(term)
        if let k = r.key { term(k) }
        if let v = r.value { term(v) }
        r.args.forEach(term)
    }

    /// Ground prefixes of every data ref and every function called.
    /// `ground` is false when the ref continues with a non-string segment: it can only reach
    /// rules below through iteration, which the evaluator checks for recursion at run time.
    static func dataRefs(rule r: CompiledRule, into out: inout [(path: [String], ground: Bool)]) {
        forEachTerm(rule: r) { t in
            switch t.kind {
            case .ref(let h, let segs):
                if case .dataRoot = h.kind {
                    var p: [String] = []
                    for s in segs { if case .scalar(.string(let x)) = s.kind { p.append(x) } else { break } }
                    out.append((p, p.count == segs.count))
                }
            case .resolvedCall(.function(let p), _): out.append((p, true))
            default: break
            }
        }
    }

    static let regexBuiltins: Set<String> = ["regex.match", "regex.is_valid", "regex.split", "regex.find_n", "regex.find_all_string_submatch_n", "regex.replace", "re_match"]

    static func constantRegexPatterns(rule r: CompiledRule, into out: inout Set<String>) {
        forEachTerm(rule: r) { t in
            if case .resolvedCall(.builtin(let b), let a) = t.kind, regexBuiltins.contains(b.name), b.name != "regex.is_valid",
               let first = a.first, case .scalar(.string(let p)) = first.kind { out.insert(p) }
        }
    }
}
