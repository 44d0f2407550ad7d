import Foundation

/// Compiles parsed modules and base data into a `CompiledPolicy` through an ordered list of
/// named, timed stages (as OPA's `ast.Compiler`).
public struct Compiler {
    public var builtins: BuiltinRegistry
    public init(builtins: BuiltinRegistry = .standard) { self.builtins = builtins }

    /// Mutable state threaded through the stages.
    final class State {
        var modules: [Module]
        var data: Value
        var errors: [RegoError] = []
        /// Rules grouped per package path (joined by ".").
        var rulesByPackage: [[String]: [(Module, Rule)]] = [:]
        var compiled: [CompiledRule] = []
        var root = RuleNode(path: [])
        var regexes: [String: NSRegularExpression] = [:]
        var nodeCount = 0
        /// Every ground data path referenced by a rule (for the recursion check).
        var deps: [ObjectIdentifier: (CompiledRule, [[String]])] = [:]
        init(modules: [Module], data: Value) { self.modules = modules; self.data = data }
    }

    struct Stage: Sendable {
        let name: String
        let run: @Sendable (Compiler, State) throws -> Void
    }

    static let stages: [Stage] = [
        Stage(name: "MergePackages", run: { c, s in c.mergePackages(s) }),
        Stage(name: "ResolveAndCheckSafety", run: { c, s in try c.resolveRules(s) }),
        Stage(name: "CheckRuleConflicts", run: { c, s in c.checkConflicts(s) }),
        Stage(name: "BuildRuleIndex", run: { c, s in c.buildIndex(s) }),
        Stage(name: "CheckRecursion", run: { c, s in c.checkRecursion(s) }),
        Stage(name: "PrecompilePatterns", run: { c, s in c.precompilePatterns(s) }),
        Stage(name: "LowerToPlans", run: { c, s in c.lowerToPlans(s) }),
    ]

    /// Parses nothing: takes already-parsed modules. Throws `RegoErrors` listing every error found.
    public func compile(modules: [Module], data: Value = .emptyObject) throws -> CompiledPolicy {
        let s = State(modules: modules, data: data)
        var timings: [StageTiming] = []
        for stage in Compiler.stages {
            let t0 = DispatchTime.now().uptimeNanoseconds
            do { try stage.run(self, s) } catch let e as RegoError { s.errors.append(e) }
            timings.append(StageTiming(name: stage.name, seconds: Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9))
            if !s.errors.isEmpty {
                let srcs = Dictionary(modules.map { ($0.source.name, $0.source) }, uniquingKeysWith: { a, _ in a })
                throw RegoErrors(s.errors.map { e in
                    var e = e
                    if e.excerpt == nil, let l = e.location, let src = srcs[l.file] { e.excerpt = src.excerpt(l) }
                    return e
                })
            }
        }
        return CompiledPolicy(root: s.root, data: data, modules: modules, builtins: builtins, stageTimings: timings, regexes: s.regexes, nodeCount: s.nodeCount)
    }

    // MARK: stage: merge modules by package
    func mergePackages(_ s: State) {
        for m in s.modules {
            for r in m.rules { s.rulesByPackage[m.package, default: []].append((m, r)) }
            if s.rulesByPackage[m.package] == nil { s.rulesByPackage[m.package] = [] }
        }
    }

    // MARK: stage: resolve names, assign slots, reorder for safety
    func resolveRules(_ s: State) throws {
        // Names of rules per package (first head segment), for bare references.
        var ruleNames: [[String]: Set<String>] = [:]
        for (pkg, rules) in s.rulesByPackage {
            ruleNames[pkg] = Set(rules.compactMap { $0.1.head.ref.first?.varName })
        }
        // All function paths, to resolve calls.
        var functionPaths: Set<[String]> = []
        var valuePaths: Set<[String]> = []
        var arity: [[String]: Int] = [:]
        for (pkg, rules) in s.rulesByPackage {
            for (_, r) in rules {
                let p = pkg + groundPrefix(r.head.ref)
                if let a = r.head.args { functionPaths.insert(p); arity[p] = a.count } else { valuePaths.insert(p) }
            }
        }
        for m in s.modules {
            let ctx = ResolveContext(module: m, ruleNames: ruleNames[m.package] ?? [], functionPaths: functionPaths,
                                     valuePaths: valuePaths, builtins: builtins, functionArity: arity)
            for r in m.rules {
                do {
                    let cr = try ctx.compileRule(r)
                    s.compiled.append(cr)
                } catch let e as RegoError { s.errors.append(e) }
            }
        }
    }

    func groundPrefix(_ ref: [Term]) -> [String] {
        var out: [String] = []
        for (i, t) in ref.enumerated() {
            if i == 0 { out.append(t.varName ?? ""); continue }
            if case .scalar(.string(let s)) = t.kind { out.append(s) } else { break }
        }
        return out
    }

    // MARK: stage: rule kinds must agree per path
    func checkConflicts(_ s: State) {
        var byPath: [[String]: [CompiledRule]] = [:]
        for r in s.compiled { byPath[r.path, default: []].append(r) }
        for (path, rules) in byPath.sorted(by: { $0.key.joined(separator: ".") < $1.key.joined(separator: ".") }) {
            let kinds = Set(rules.map(\.kind))
            if kinds.count > 1 {
                s.errors.append(RegoError(code: .type, message: "conflicting rules data.\(path.joined(separator: ".")) found", location: rules[0].location))
            }
            if rules.filter(\.isDefault).count > 1 {
                s.errors.append(RegoError(code: .type, message: "multiple default rules data.\(path.joined(separator: ".")) found", location: rules[0].location))
            }
            if kinds == [.function] {
                let arities = Set(rules.map(\.args.count))
                if arities.count > 1 {
                    s.errors.append(RegoError(code: .type, message: "function data.\(path.joined(separator: ".")) has arity \(arities.sorted().first!), got \(arities.sorted().last!) arguments", location: rules[0].location))
                }
            }
        }
    }

    // MARK: stage: rule tree by path
    func buildIndex(_ s: State) {
        for m in s.modules {
            var n = s.root
            n.hasRules = true
            for k in m.package { n = n.child(k); n.hasRules = true }
        }
        for r in s.compiled {
            var n = s.root
            n.hasRules = true
            for (i, k) in r.path.enumerated() { n = n.child(k); if r.kind != .function || i < r.path.count - 1 { n.hasRules = true } }
            if r.kind == .function { n.functions.append(r); if r.isDefault { continue } }
            else if r.isDefault { n.defaultRule = r }
            else { n.rules.append(r) }
        }
        func sortKeys(_ n: RuleNode) {
            n.childKeys = n.children.keys.sorted { Value.compareStrings($0, $1) < 0 }
            for c in n.children.values { sortKeys(c) }
        }
        sortKeys(s.root)
        // Rules with dynamic heads and complete rules at the same path conflict; a complete rule and
        // child rules under it as well (OPA: rego_type_error).
        func check(_ n: RuleNode) {
            if let k = n.kind, k == .complete || k == .partialSet, !n.children.isEmpty {
                s.errors.append(RegoError(code: .type, message: "rule data.\(n.path.joined(separator: ".")) conflicts with rules below it", location: (n.rules.first ?? n.defaultRule)?.location))
            }
            for c in n.children.values { check(c) }
        }
        check(s.root)
    }

    // MARK: stage: recursion
    func checkRecursion(_ s: State) {
        // Graph over rule paths: an edge to every rule node a ref or call can reach.
        var nodeOf: [[String]: RuleNode] = [:]
        func collectNodes(_ n: RuleNode) {
            if !n.rules.isEmpty || !n.functions.isEmpty || n.defaultRule != nil { nodeOf[n.path] = n }
            for c in n.children.values { collectNodes(c) }
        }
        collectNodes(s.root)
        var edges: [[String]: Set<[String]>] = [:]
        for r in s.compiled {
            var targets: Set<[String]> = []
            var refs: [(path: [String], ground: Bool)] = []
            RuleWalker.dataRefs(rule: r, into: &refs)
            for ref in refs {
                // every rule node on the path prefix, and every rule below the ref
                for i in 0...ref.path.count {
                    if let n = nodeOf[Array(ref.path.prefix(i))] { targets.insert(n.path) }
                }
                if let n = s.root.lookup(ref.path[...]), ref.ground {
                    func below(_ n: RuleNode) { if nodeOf[n.path] != nil { targets.insert(n.path) }; for c in n.children.values { below(c) } }
                    below(n)
                }
            }
            edges[r.path, default: []].formUnion(targets)
        }
        var state: [[String]: Int] = [:]  // 1 visiting, 2 done
        var reported = false
        func dfs(_ p: [String], _ stack: [[String]]) {
            if reported { return }
            state[p] = 1
            for t in (edges[p] ?? []).sorted(by: { $0.joined(separator: ".") < $1.joined(separator: ".") }) {
                if state[t] == 1 {
                    let cycle = (stack + [p]).drop(while: { $0 != t }) + [t]
                    let loc = nodeOf[p]?.rules.first?.location ?? nodeOf[p]?.functions.first?.location
                    s.errors.append(RegoError(code: .recursion, message: "rule data.\(t.joined(separator: ".")) is recursive: " + cycle.map { "data." + $0.joined(separator: ".") }.joined(separator: " -> "), location: loc))
                    reported = true
                    return
                }
                if state[t] == nil { dfs(t, stack + [p]) }
            }
            state[p] = 2
        }
        for p in edges.keys.sorted(by: { $0.joined(separator: ".") < $1.joined(separator: ".") }) where state[p] == nil { dfs(p, []) }
    }

    // MARK: stage: regexes used with constant patterns are compiled once
    func precompilePatterns(_ s: State) {
        var patterns: Set<String> = []
        for r in s.compiled { RuleWalker.constantRegexPatterns(rule: r, into: &patterns) }
        for p in patterns { if let re = try? RegexSupport.compile(p) { s.regexes[p] = re } }
    }

    // MARK: stage: evaluation plans
    func lowerToPlans(_ s: State) {
        var n = 0
        func number(_ node: RuleNode) {
            node.index = n; n += 1
            for k in node.childKeys { number(node.children[k]!) }
        }
        number(s.root)
        s.nodeCount = n
        let builder = PlanBuilder(root: s.root, data: s.data)
        for r in s.compiled { r.plan = builder.lowerRule(r) }
    }
}
