import Foundation

/// The facade the gateway and CLI use: load modules and data, compile once, prepare queries.
///
///     var engine = PolicyEngine()
///     try engine.addModule(name: "authz.rego", source: text)
///     try engine.addBundleData(path: "systemupdate/data.json", value: json)
///     let policy = try engine.compile()
///     let query = try PreparedQuery(policy: policy, query: "data.systemupdate.authz.allow")
///     let results = try query.eval(input: input)
public struct PolicyEngine: Sendable {
    public private(set) var modules: [Module] = []
    public private(set) var data: Value = .emptyObject
    public var builtins: BuiltinRegistry

    public init(builtins: BuiltinRegistry = .standard) { self.builtins = builtins }

    /// Parses one module; parse errors are `RegoError` with code `rego_parse_error`.
    public mutating func addModule(name: String, source: String) throws {
        modules.append(try Parser.parseModule(name: name, text: source))
    }

    /// Merges a JSON document at a data path (`[]` for the root).
    public mutating func addData(_ value: Value, at path: [String] = []) throws {
        let v = path.reversed().reduce(value) { acc, k in .object(RegoObject(pairs: [(.string(k), acc)])) }
        guard case .object(let a) = data, case .object(let b) = v else {
            throw RegoError(code: .compile, message: "data must be an object at the root")
        }
        data = .object(try PolicyEngine.mergeData(a, b, []))
    }

    /// OPA bundle layout: `a/b/data.json` (or `.yaml`, parsed by the caller) lands at `data.a.b`.
    public mutating func addBundleData(path: String, value: Value) throws {
        var parts = path.split(separator: "/").map(String.init)
        if !parts.isEmpty { parts.removeLast() }
        parts = parts.filter { $0 != "." && !$0.isEmpty }
        try addData(value, at: parts)
    }

    static func mergeData(_ a: RegoObject, _ b: RegoObject, _ path: [String]) throws -> RegoObject {
        var out = a
        for i in 0..<b.count {
            let k = b.keys[i]
            if let ex = out[k] {
                guard case .object(let eo) = ex, case .object(let bo) = b.values[i] else {
                    throw RegoError(code: .compile, message: "data conflict at data.\((path + [k.stringValue ?? k.description]).joined(separator: "."))")
                }
                out[k] = .object(try mergeData(eo, bo, path + [k.stringValue ?? k.description]))
            } else { out[k] = b.values[i] }
        }
        return out
    }

    /// Compiles modules and data into an immutable policy.
    public func compile() throws -> CompiledPolicy {
        try Compiler(builtins: builtins).compile(modules: modules, data: data)
    }

    /// Convenience: modules as (name, source) pairs, data at the root.
    public static func compile(modules: [(String, String)], data: Value = .emptyObject, builtins: BuiltinRegistry = .standard) throws -> CompiledPolicy {
        var e = PolicyEngine(builtins: builtins)
        for (n, s) in modules { try e.addModule(name: n, source: s) }
        try e.addData(data)
        return try e.compile()
    }
}

/// One solution of a query, in OPA's result shape.
public struct QueryResult: Sendable, Equatable {
    /// Value of each expression of the query (`true` for unifications that succeeded).
    public var expressions: [Value]
    /// Values of the query's named variables.
    public var bindings: [String: Value]

    /// `{"expressions": [{"value": ..., "text": ...}], "bindings": {...}}`
    public func json(texts: [String]) -> Value {
        let exprs: [Value] = expressions.enumerated().map { i, v in
            .object(RegoObject(pairs: [(.string("value"), v), (.string("text"), .string(i < texts.count ? texts[i] : ""))]))
        }
        var pairs: [(Value, Value)] = [(.string("expressions"), .array(exprs))]
        if !bindings.isEmpty {
            pairs.append((.string("bindings"), .object(RegoObject(pairs: bindings.map { (.string($0.key), $0.value) }))))
        }
        return .object(RegoObject(pairs: pairs))
    }
}

/// A query compiled against a policy; evaluate it any number of times, from any thread.
public final class PreparedQuery: Sendable {
    public let policy: CompiledPolicy
    public let text: String
    let body: [Expr]
    let frameSize: Int
    let vars: [(String, Int)]
    /// Source text of each expression, for OPA's result shape.
    public let expressionTexts: [String]
    /// Plans of the expressions, and of the term of each plain term expression when it has one
    /// value (the query's value rather than a test).
    let plans: [ExprPlan]
    let termPlans: [TermPlan?]
    /// The members of `input` the answer can depend on (hosts reuse decisions with it).
    public let inputDependencies: InputDependencies

    public init(policy: CompiledPolicy, query: String) throws {
        self.policy = policy
        self.text = query
        let parsed = try Parser.parseQuery(query)
        var fpaths: Set<[String]> = [], vpaths: Set<[String]> = [], arity: [[String]: Int] = [:]
        func walk(_ n: RuleNode) {
            if let f = n.functions.first { fpaths.insert(n.path); arity[n.path] = f.args.count }
            if !n.rules.isEmpty || n.defaultRule != nil { vpaths.insert(n.path) }
            for c in n.children.values { walk(c) }
        }
        walk(policy.root)
        let module = Module(package: [], packageLoc: .none, imports: [], rules: [], source: SourceFile(name: "query", text: query))
        let ctx = ResolveContext(module: module, ruleNames: [], functionPaths: fpaths, valuePaths: vpaths, builtins: policy.builtins, functionArity: arity)
        let alloc = SlotAllocator()
        let scope = Scope(parent: nil)
        do {
            (body, _) = try ctx.resolveBody(parsed, scope, alloc, bound: [])
        } catch var e as RegoError {
            e.excerpt = SourceFile(name: "query", text: query).excerpt(e.location ?? .none)
            throw e
        }
        frameSize = alloc.count
        vars = scope.names.filter { !$0.key.hasPrefix("_") }.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 }
        let lines = query.split(separator: "\n", omittingEmptySubsequences: false)
        expressionTexts = body.map { e in
            guard e.loc.line >= 1, e.loc.line <= lines.count else { return "" }
            return String(lines[e.loc.line - 1].dropFirst(max(0, e.loc.column - 1))).trimmingCharacters(in: .whitespaces)
        }
        (plans, termPlans) = PlanBuilder(root: policy.root, data: policy.data).lowerQuery(body)
        inputDependencies = DependencyWalker.analyze(query: body, root: policy.root)
    }

    /// A plain term expression (the query's value is the term's value).
    static func plainTerm(_ e: Expr) -> Term? {
        guard e.withs.isEmpty, !e.negated, case .term(let t) = e.kind else { return nil }
        if case .call(let op, _) = t.kind, op == "eq" || op == "assign" { return nil }
        return t
    }

    static func isRef(_ t: Term) -> Bool {
        switch t.kind { case .ref, .inputRoot, .dataRoot, .local: return true; default: return false }
    }

    /// Evaluates the query. An empty array means undefined.
    public func eval(input: Value?, options: EvalOptions = EvalOptions()) throws -> [QueryResult] {
        let ev = Evaluator(policy: policy, input: input, options: options)
        return try ev.withFrame(frameSize) { f in
            var out: [QueryResult] = []
            var exprValues = [Value](repeating: .true, count: body.count)
            func run(_ i: Int) throws -> Bool {
                if i == body.count {
                    var b: [String: Value] = [:]
                    for (n, s) in vars { if let v = f.slots[s] { b[n] = v } }
                    out.append(QueryResult(expressions: exprValues, bindings: b))
                    return false
                }
                if let t = PreparedQuery.plainTerm(body[i]) {
                    try ev.step()
                    // A reference query returns its value even when false (as `opa eval data.x`).
                    let isRef = PreparedQuery.isRef(t)
                    if let tp = termPlans[i] {
                        guard let v = try tp.eval(ev, f) else { return false }
                        if !isRef, case .bool(false) = v { return false }
                        exprValues[i] = v
                        return try run(i + 1)
                    }
                    return try ev.evalTerm(t, f) { v in
                        if !isRef, case .bool(false) = v { return false }
                        exprValues[i] = v
                        return try run(i + 1)
                    }
                }
                exprValues[i] = .true
                return try ev.runOne(plans[i], f) { try run(i + 1) }
            }
            _ = try run(0)
            return out
        }
    }

    /// The value of a single-expression query (e.g. `data.pkg.allow`), or nil when undefined.
    public func evalValue(input: Value?, options: EvalOptions = EvalOptions()) throws -> Value? {
        if body.count == 1, let t = PreparedQuery.plainTerm(body[0]), let tp = termPlans[0] {
            // The one result's one expression value, without building the result.
            let ev = Evaluator(policy: policy, input: input, options: options)
            return try ev.withFrame(frameSize) { f in
                try ev.step()
                guard let v = try tp.eval(ev, f) else { return nil }
                if !PreparedQuery.isRef(t), case .bool(false) = v { return nil }
                return v
            }
        }
        let rs = try eval(input: input, options: options)
        return rs.first?.expressions.first
    }
}
