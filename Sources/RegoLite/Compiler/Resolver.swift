/// Resolves names (locals to frame slots, rule names and imports to data refs, calls to
/// builtins or functions) and reorders every body for safety, as OPA's compiler does.
final class Scope {
    var names: [String: Int] = [:]
    var levelNames: Set<String> = []
    var owned: Set<Int> = []
    var declaredNames: Set<String> = []
    let parent: Scope?
    init(parent: Scope?) { self.parent = parent }
    var visible: Set<Int> { owned.union(parent?.visible ?? []) }
}

/// OPA builtins RegoLite does not implement: calling one is an "unsupported" compile error,
/// never an undefined-function error that could be mistaken for a policy bug.
let knownUnsupportedBuiltins: Set<String> = [
    "http.send", "net.lookup_ip_addr", "opa.runtime", "rego.parse_module", "rego.metadata.chain", "rego.metadata.rule",
    "json.match_schema", "json.verify_schema", "providers.aws.sign_req", "strings.render_template", "rand.intn",
    "graphql.parse", "graphql.parse_and_verify", "graphql.parse_query", "graphql.parse_schema", "graphql.is_valid", "graphql.schema_is_valid",
    "io.jwt.decode_verify", "io.jwt.encode_sign", "io.jwt.encode_sign_raw",
    "io.jwt.verify_rs256", "io.jwt.verify_rs384", "io.jwt.verify_rs512", "io.jwt.verify_ps256", "io.jwt.verify_ps384", "io.jwt.verify_ps512",
    "io.jwt.verify_es256", "io.jwt.verify_es384", "io.jwt.verify_es512", "io.jwt.verify_eddsa",
   
    "crypto.x509.parse_certificates", "crypto.x509.parse_and_verify_certificates", "crypto.x509.parse_and_verify_certificates_with_options",
    "crypto.x509.parse_certificate_request", "crypto.x509.parse_keypair", "crypto.x509.parse_rsa_private_key", "crypto.parse_private_keys",
    "trace",
    "regex.template_match",
    "yaml.is_valid", "yaml.marshal", "yaml.unmarshal", "test.sleep", "opa.runtime",
    "net.cidr_overlap", "net.lookup_ip_addr", "units.parse_duration", "strings.render_template", "regex.globs_match", "glob.match_star",
]

struct ResolveContext {
    let module: Module
    let ruleNames: Set<String>
    let functionPaths: Set<[String]>
    let valuePaths: Set<[String]>
    let builtins: BuiltinRegistry
    let functionArity: [[String]: Int]
    var imports: [String: Term] = [:]

    init(module: Module, ruleNames: Set<String>, functionPaths: Set<[String]>, valuePaths: Set<[String]>, builtins: BuiltinRegistry, functionArity: [[String]: Int]) {
        self.module = module; self.ruleNames = ruleNames; self.functionPaths = functionPaths; self.functionArity = functionArity
        self.valuePaths = valuePaths; self.builtins = builtins
        for imp in module.imports {
            guard case .ref(let h, let segs) = imp.path.kind, let root = h.varName else {
                if let n = imp.path.varName, n == "input" || n == "data" { if let a = imp.alias { imports[a] = imp.path } }
                continue
            }
            if root == "future" || root == "rego" { continue }
            guard root == "data" || root == "input" else { continue }
            let alias: String
            if let a = imp.alias { alias = a } else if case .scalar(.string(let last)) = segs.last?.kind { alias = last } else { continue }
            imports[alias] = imp.path
        }
    }

    func err(_ code: RegoError.Code, _ msg: String, _ loc: Location) -> RegoError { RegoError(code: code, message: msg, location: loc) }

    // MARK: rules
    func compileRule(_ rule: Rule) throws -> CompiledRule {
        var r = rule
        for imp in module.imports {
            if case .ref(let h, _) = imp.path.kind, let root = h.varName, !["data", "input", "future", "rego"].contains(root) {
                throw err(.compile, "invalid import \(root): must begin with input or data", imp.loc)
            }
        }
        let alloc = SlotAllocator()
        let argScope = Scope(parent: nil)
        var groundPath = module.package
        var dynamic: [Term] = []
        for (i, t) in r.head.ref.enumerated() {
            if i == 0 { groundPath.append(t.varName ?? ""); continue }
            if dynamic.isEmpty, case .scalar(.string(let s)) = t.kind { groundPath.append(s) } else { dynamic.append(t) }
        }
        let kind: RuleKind
        if r.head.args != nil { kind = .function }
        else if r.head.key != nil { kind = .partialSet; if !dynamic.isEmpty { throw RegoError.unsupported("multi-value rules (contains) with variables in the rule head reference", r.head.loc) } }
        else if !dynamic.isEmpty { kind = .partialObject }
        else { kind = .complete }
        if kind == .function && !dynamic.isEmpty { throw err(.parse, "function heads must be ground references", r.head.loc) }
        if r.isDefault && kind == .partialObject { throw err(.parse, "default rules must not have variables in their head", r.head.loc) }

        for a in r.head.args ?? [] { if case .template = a.kind { throw RegoError.unsupported("template strings as function arguments", a.loc) } }
        // Function arguments are declared in an outer scope shared by all bodies of the rule.
        var args: [Term] = []
        if let a = r.head.args {
            var names: Set<String> = []
            for t in a { TermVars.patternNames(t, into: &names) }
            for n in names where n != "_" { let s = alloc.next(); argScope.names[n] = s; argScope.owned.insert(s); argScope.declaredNames.insert(n) }
            args = try a.map { try resolveTerm($0, argScope, alloc) }
        }
        let argSlots = argScope.owned

        // Head values that need evaluation (refs, calls, comprehensions) are computed by the body,
        // as OPA rewrites `p := xs[_]` to `p := __v if { __v = xs[_] }`.
        _ = 0
        func lift(_ t: Term?, _ body: inout [Expr], _ n: Int) -> Term? {
            guard let t else { return nil }
            switch t.kind {
            case .scalar, .variable: return t
            default:
                let v = Term(.variable("__head\(n)__"), t.loc)
                body.append(Expr(.term(Term(.call("eq", [v, t]), t.loc)), t.loc))
                return v
            }
        }
        if !r.isDefault {
            var b = r.body
            r.head.value = lift(r.head.value, &b, 0)
            r.head.key = lift(r.head.key, &b, 1)
            r.body = b
            for i in r.elses.indices {
                var eb = r.elses[i].body
                r.elses[i].value = lift(r.elses[i].value, &eb, 2)
                r.elses[i].body = eb
            }
        }
        // Main body with head terms.
        let bodyScope = Scope(parent: argScope)
        var headTerms: [Term] = dynamic
        if let k = r.head.key { headTerms.append(k) }
        if let v = r.head.value { headTerms.append(v) }
        if r.isDefault {
            let v = try resolveTerm(r.head.value!, bodyScope, alloc)
            if case .local = v.kind { throw err(.compile, "default rule value cannot contain variables", r.head.loc) }
            return CompiledRule(kind: kind, path: groundPath, dynamicRef: [], key: nil, value: v, args: args, body: [], elses: [],
                                isDefault: true, frameSize: alloc.count, location: r.loc)
        }
        let (body, bodyBound) = try resolveBody(r.body, bodyScope, alloc, bound: argSlots, extraLevelTerms: headTerms)
        let rDynamic = try dynamic.map { try resolveTerm($0, bodyScope, alloc) }
        let rKey = try r.head.key.map { try resolveTerm($0, bodyScope, alloc) }
        let rValue = try r.head.value.map { try resolveTerm($0, bodyScope, alloc) }
        try checkHeadSafety(rDynamic + [rKey, rValue].compactMap { $0 }, bound: bodyBound, loc: r.head.loc)

        var elses: [(value: Term?, body: [Expr])] = []
        for e in r.elses {
            let es = Scope(parent: argScope)
            let (eb, eBound) = try resolveBody(e.body, es, alloc, bound: argSlots, extraLevelTerms: [e.value].compactMap { $0 })
            let ev = try e.value.map { try resolveTerm($0, es, alloc) }
            try checkHeadSafety([ev].compactMap { $0 }, bound: eBound, loc: e.loc)
            elses.append((ev ?? (rValue == nil ? nil : Term(.scalar(.bool(true)), e.loc)), eb))
        }
        return CompiledRule(kind: kind, path: groundPath, dynamicRef: rDynamic, key: rKey, value: rValue, args: args, body: body,
                            elses: elses, isDefault: false, frameSize: alloc.count, location: r.loc)
    }

    func checkHeadSafety(_ terms: [Term], bound: Set<Int>, loc: Location) throws {
        let b = bound
        for t in terms {
            var vars = Set<Int>(); TermVars.locals(t, into: &vars)
            var names: [Int: String] = [:]; TermVars.localNames(t, into: &names)
            for v in vars.sorted() where !b.contains(v) {
                throw err(.unsafeVar, "var \(names[v] ?? "?") is unsafe", t.loc)
            }
        }
    }

    // MARK: bodies
    /// Resolves a body in `scope`, then reorders it so every expression runs with its inputs bound.
    func resolveBody(_ body: [Expr], _ scope: Scope, _ alloc: SlotAllocator, bound: Set<Int>, extraLevelTerms: [Term] = []) throws -> ([Expr], Set<Int>) {
        var level = Set<String>()
        for e in body { TermVars.levelNames(e, into: &level) }
        for t in extraLevelTerms { TermVars.termLevelNames(t, into: &level) }
        for e in body { TermVars.declaredNames(e, into: &level) }
        scope.levelNames = level
        var out: [Expr] = []
        for e in body { out.append(try resolveExpr(e, scope, alloc)) }
        return try Safety.reorder(out, bound: bound.union(scope.parent?.visible ?? []), scope: scope, extraTerms: extraLevelTerms)
    }

    func resolveExpr(_ e: Expr, _ scope: Scope, _ alloc: SlotAllocator) throws -> Expr {
        var out = e
        switch e.kind {
        case .term(let t):
            if case .call(let op, let a) = t.kind, op == "assign", a.count == 2 {
                // `:=` declares the variables of its left side in this scope.
                guard Safety.isAssignable(a[0]) else { throw err(.compile, "cannot assign to \(Safety.kindName(a[0]))", t.loc) }
                let rhs = try resolveTerm(a[1], scope, alloc)
                var names: Set<String> = []
                TermVars.patternNames(a[0], into: &names)
                for n in names where n != "_" {
                    if scope.names[n] != nil && scope.owned.contains(scope.names[n]!) && declared(scope, n) {
                        throw err(.compile, "var \(n) assigned above", t.loc)
                    }
                    declare(scope, n, alloc)
                }
                let lhs = try resolveTerm(a[0], scope, alloc)
                out.kind = .term(Term(.call("assign", [lhs, rhs]), t.loc))
            } else {
                var rt = try resolveTerm(t, scope, alloc)
                // `f(a, out)`: a call with one extra argument unifies its result with that argument.
                if case .resolvedCall(let target, var a) = rt.kind {
                    let arity: Int?
                    switch target { case .builtin(let b): arity = b.arity; case .function(let p): arity = functionArity[p] }
                    if let n = arity, n >= 0, a.count == n + 1 {
                        let last = a.removeLast()
                        rt = Term(.call("eq", [Term(.resolvedCall(target, a), t.loc), last]), t.loc)
                    } else if let n = arity, n >= 0, a.count != n {
                        throw err(.type, "function \(t.kind.callName ?? "") has arity \(n), got \(a.count) arguments", t.loc)
                    }
                }
                out.kind = .term(rt)
            }
        case .some(let vars):
            for v in vars { if let n = v.varName, n != "_" { declare(scope, n, alloc) } }
            out.kind = .some(try vars.map { try resolveTerm($0, scope, alloc) })
        case .someIn(let k, let v, let c):
            let rc = try resolveTerm(c, scope, alloc)
            var names: Set<String> = []
            if let k = k { TermVars.patternNames(k, into: &names) }
            TermVars.patternNames(v, into: &names)
            for n in names where n != "_" { declare(scope, n, alloc) }
            out.kind = .someIn(key: try k.map { try resolveTerm($0, scope, alloc) }, value: try resolveTerm(v, scope, alloc), collection: rc)
        case .every(let k, let v, let d, let body):
            let rd = try resolveTerm(d, scope, alloc)
            let inner = Scope(parent: scope)
            var declaredSlots = Set<Int>()
            for t in [k, v].compactMap({ $0 }) {
                if let n = t.varName, n != "_" { let s = alloc.next(); inner.names[n] = s; inner.owned.insert(s); inner.declaredNames.insert(n); declaredSlots.insert(s) }
            }
            let rk = try k.map { try resolveTerm($0, inner, alloc) }
            let rv = try resolveTerm(v, inner, alloc)
            if let rk, case .local(let s, _) = rk.kind { declaredSlots.insert(s) }
            if case .local(let s, _) = rv.kind { declaredSlots.insert(s) }
            var level = Set<String>()
            for e in body { TermVars.levelNames(e, into: &level) }
            inner.levelNames = level
            var rb: [Expr] = []
            for e in body { rb.append(try resolveExpr(e, inner, alloc)) }
            rb = try Safety.reorder(rb, bound: declaredSlots.union(scope.visible), scope: inner, extraTerms: []).0
            out.kind = .every(key: rk, value: rv, domain: rd, body: rb)
        }
        out.withs = try e.withs.map { w in
            WithModifier(target: try resolveWithTarget(w.target), value: try resolveWithValue(w.value, scope, alloc), loc: w.loc)
        }
        return out
    }

    func declared(_ scope: Scope, _ n: String) -> Bool { scope.declaredNames.contains(n) }
    func declare(_ scope: Scope, _ n: String, _ alloc: SlotAllocator) {
        let s = alloc.next(); scope.names[n] = s; scope.owned.insert(s); scope.declaredNames.insert(n)
    }

    // MARK: terms
    func lookupLocal(_ name: String, _ scope: Scope, _ alloc: SlotAllocator) -> Int? {
        // A declaration (`:=`, `some`, argument) shadows outer scopes; otherwise the outermost
        // scope using the name owns it (comprehension bodies close over outer variables).
        var s: Scope? = scope
        var owner: Scope?
        while let sc = s {
            if sc.declaredNames.contains(name), let slot = sc.names[name] { return slot }
            if sc.names[name] != nil || (sc.levelNames.contains(name) && !isGlobal(name)) { owner = sc }
            s = sc.parent
        }
        guard let o = owner else { return nil }
        if let slot = o.names[name] { return slot }
        let slot = alloc.next(); o.names[name] = slot; o.owned.insert(slot); return slot
    }

    func isDeclared(_ name: String, _ scope: Scope) -> Bool {
        var s: Scope? = scope
        while let sc = s { if sc.declaredNames.contains(name) { return true }; s = sc.parent }
        return false
    }

    func isGlobal(_ name: String) -> Bool {
        name == "input" || name == "data" || imports[name] != nil || ruleNames.contains(name)
    }

    /// A bare global name as a ref: `[root, segs...]`.
    func globalRef(_ name: String, _ loc: Location) -> Term? {
        if name == "input" { return Term(.inputRoot, loc) }
        if name == "data" { return Term(.dataRoot, loc) }
        if let imp = imports[name] { return resolveImportPath(imp, loc) }
        if ruleNames.contains(name) {
            return Term(.ref(Term(.dataRoot, loc), (module.package + [name]).map { Term(.scalar(.string($0)), loc) }), loc)
        }
        return nil
    }

    func resolveImportPath(_ t: Term, _ loc: Location) -> Term {
        switch t.kind {
        case .variable(let n): return n == "input" ? Term(.inputRoot, loc) : Term(.dataRoot, loc)
        case .ref(let h, let segs):
            let root = h.varName == "input" ? Term(.inputRoot, loc) : Term(.dataRoot, loc)
            return Term(.ref(root, segs), loc)
        default: return t
        }
    }

    func resolveTerm(_ t: Term, _ scope: Scope, _ alloc: SlotAllocator) throws -> Term {
        switch t.kind {
        case .scalar, .local, .dataRoot, .inputRoot, .resolvedCall: return t
        case .variable(let name):
            if name == "_" { let s = alloc.next(); scope.owned.insert(s); return Term(.local(s, "_"), t.loc) }
            if let slot = lookupLocal(name, scope, alloc) { return Term(.local(slot, name), t.loc) }
            if let g = globalRef(name, t.loc) { return g }
            let s = alloc.next(); scope.names[name] = s; scope.owned.insert(s)
            return Term(.local(s, name), t.loc)
        case .ref(let h, let segs):
            let rsegs = try segs.map { try resolveTerm($0, scope, alloc) }
            let rh = try resolveTerm(h, scope, alloc)
            if case .ref(let hh, let hs) = rh.kind { return Term(.ref(hh, hs + rsegs), t.loc) }
            return Term(.ref(rh, rsegs), t.loc)
        case .array(let a): return Term(.array(try a.map { try resolveTerm($0, scope, alloc) }), t.loc)
        case .set(let a): return Term(.set(try a.map { try resolveTerm($0, scope, alloc) }), t.loc)
        case .object(let ps):
            return Term(.object(try ps.map { (try resolveTerm($0.0, scope, alloc), try resolveTerm($0.1, scope, alloc)) }), t.loc)
        case .arrayComp(let h, let b):
            let (rh, rb) = try resolveComprehension([h], b, scope, alloc)
            return Term(.arrayComp(rh[0], rb), t.loc)
        case .setComp(let h, let b):
            let (rh, rb) = try resolveComprehension([h], b, scope, alloc)
            return Term(.setComp(rh[0], rb), t.loc)
        case .objectComp(let k, let v, let b):
            let (rh, rb) = try resolveComprehension([k, v], b, scope, alloc)
            return Term(.objectComp(rh[0], rh[1], rb), t.loc)
        case .template(let parts):
            return Term(.template(try parts.map { p in
                if case .term(let x) = p { return .term(try resolveTerm(x, scope, alloc)) }
                return p
            }), t.loc)
        case .call(let name, let args):
            let rargs = try args.map { try resolveTerm($0, scope, alloc) }
            if name == "assign" || name == "eq" {
                if name == "assign" { throw err(.parse, "unexpected assignment operator", t.loc) }
                return Term(.call(name, rargs), t.loc)
            }
            let target = try resolveCallTarget(name, t.loc)
            switch target {
            case .builtin(let b):
                if b.arity >= 0 && rargs.count != b.arity && rargs.count != b.arity + 1 {
                    throw err(.type, "\(name): arity mismatch\n\thave: (\(rargs.count) args)\n\twant: (\(b.arity) args)", t.loc)
                }
            case .function: break
            }
            return Term(.resolvedCall(target, rargs), t.loc)
        }
    }

    func resolveComprehension(_ heads: [Term], _ body: [Expr], _ scope: Scope, _ alloc: SlotAllocator) throws -> ([Term], [Expr]) {
        let inner = Scope(parent: scope)
        let (rb, b) = try resolveBody(body, inner, alloc, bound: [], extraLevelTerms: heads)
        let rh = try heads.map { try resolveTerm($0, inner, alloc) }
        for h in rh {
            var vars = Set<Int>(); TermVars.locals(h, into: &vars)
            var names: [Int: String] = [:]; TermVars.localNames(h, into: &names)
            for v in vars.sorted() where !b.contains(v) { throw err(.unsafeVar, "var \(names[v] ?? "?") is unsafe", h.loc) }
        }
        return (rh, rb)
    }

    func resolveCallTarget(_ name: String, _ loc: Location) throws -> CallTarget {
        let parts = name.split(separator: ".").map(String.init)
        var path: [String]?
        if parts[0] == "data" { path = Array(parts.dropFirst()) }
        else if let imp = imports[parts[0]], case .ref(let h, let segs) = imp.kind, h.varName == "data" {
            path = segs.compactMap { if case .scalar(.string(let s)) = $0.kind { return s }; return nil } + parts.dropFirst()
        } else if ruleNames.contains(parts[0]) { path = module.package + parts }
        if let p = path {
            if functionPaths.contains(p) { return .function(p) }
            if valuePaths.contains(p) { throw err(.type, "\(name) is not a function", loc) }
        }
        if let b = builtins.lookup(name) { return .builtin(b) }
        if path == nil, functionPaths.contains(module.package + parts) { return .function(module.package + parts) }
        if knownUnsupportedBuiltins.contains(name) { throw RegoError.unsupported("builtin function \(name)", loc) }
        throw err(.type, "undefined function \(name)", loc)
    }

    func resolveWithTarget(_ t: Term) throws -> Term {
        let root: String
        var segs: [Term] = []
        switch t.kind {
        case .variable(let n): root = n
        case .ref(let h, let s): root = h.varName ?? ""; segs = s
        default: throw err(.type, "with keyword target must reference existing input, data, or a function", t.loc)
        }
        if root == "input" { return Term(.ref(Term(.inputRoot, t.loc), segs), t.loc) }
        if root == "data" {
            // A data path naming a function is a function mock.
            let p = segs.compactMap { s -> String? in if case .scalar(.string(let x)) = s.kind { return x }; return nil }
            if p.count == segs.count, functionPaths.contains(p) { return Term(.resolvedCall(.function(p), []), t.loc) }
            return Term(.ref(Term(.dataRoot, t.loc), segs), t.loc)
        }
        // A function or builtin name.
        var name = root
        for s in segs { guard case .scalar(.string(let x)) = s.kind else { throw err(.type, "with keyword target must reference existing input, data, or a function", t.loc) }; name += "." + x }
        if let g = globalRef(root, t.loc), imports[root] != nil || ruleNames.contains(root) {
            // import alias or rule name: data path or function
            if case .ref(let gh, let gs) = g.kind, case .dataRoot = gh.kind {
                let p = (gs + segs).compactMap { s -> String? in if case .scalar(.string(let x)) = s.kind { return x }; return nil }
                if functionPaths.contains(p) { return Term(.resolvedCall(.function(p), []), t.loc) }
                return Term(.ref(gh, gs + segs), t.loc)
            }
        }
        let target = try resolveCallTarget(name, t.loc)
        return Term(.resolvedCall(target, []), t.loc)
    }

    func resolveWithValue(_ t: Term, _ scope: Scope, _ alloc: SlotAllocator) throws -> Term {
        // A bare (dotted) name of a function or builtin used as a mock.
        var name: String?
        switch t.kind {
        case .variable(let n): name = n
        case .ref(let h, let segs):
            if let hn = h.varName {
                var s = hn
                for x in segs { if case .scalar(.string(let v)) = x.kind { s += "." + v } else { s = ""; break } }
                if !s.isEmpty { name = s }
            }
        default: break
        }
        if let n = name, knownUnsupportedBuiltins.contains(n), builtins.lookup(n) == nil { throw RegoError.unsupported("builtin function \(n)", t.loc) }
        if let n = name, !isDeclared(n.split(separator: ".").first.map(String.init) ?? n, scope) {
            if let target = try? resolveCallTarget(n, t.loc) {
                if case .function = target { return Term(.resolvedCall(target, []), t.loc) }
                if case .builtin = target, builtins.lookup(n) != nil, !isGlobal(n.split(separator: ".").first.map(String.init) ?? n) {
                    return Term(.resolvedCall(target, []), t.loc)
                }
            }
        }
        return try resolveTerm(t, scope, alloc)
    }
}

final class SlotAllocator {
    var count = 0
    func next() -> Int { count += 1; return count - 1 }
}

