/// What a prepared query's answer can depend on besides `data`: the members of `input` it may
/// read, and whether every builtin it may call answers from its arguments alone.
///
/// Found by walking the query and, transitively, every rule and function it can reach (a `data`
/// reference reaches the rules along its ground prefix and everything below where the prefix
/// ends; a bare `data` reaches all). The walk over-approximates: a rule counted as reachable
/// may never run. A host uses it to reuse decisions safely — two inputs that agree on `keys`
/// get the same answer from the same compiled policy when `deterministic` holds.
public struct InputDependencies: Sendable, Equatable {
    /// Top-level members of `input` the query may read; nil when it may read any of them (a
    /// bare `input`, or a member chosen at run time such as `input[k]`).
    public let keys: Set<String>?
    /// No reachable call to a builtin whose answer varies between calls with the same arguments
    /// (`time.now_ns`, `uuid.rfc4122`, ...), has effects (`print`, `trace`) or was supplied by
    /// the host (its behaviour is unknown here).
    public let deterministic: Bool

    /// Answers can be reused for equal `keys` members.
    public var cacheable: Bool { deterministic && keys != nil }

    public init(keys: Set<String>?, deterministic: Bool) {
        self.keys = keys
        self.deterministic = deterministic
    }
}

/// Builtins that are flagged deterministic but must run every time for their effect.
private let effectBuiltins: Set<String> = ["print", "trace", "opa.runtime"]

struct DependencyWalker {
    let root: RuleNode
    private var keys: Set<String> = []
    private var wholeInput = false
    private var deterministic = true
    private var visited: Set<ObjectIdentifier> = []
    private var pending: [CompiledRule] = []

    init(root: RuleNode) { self.root = root }

    static func analyze(query: [Expr], root: RuleNode) -> InputDependencies {
        var walker = DependencyWalker(root: root)
        for e in query { walker.expr(e) }
        while let rule = walker.pending.popLast() { walker.rule(rule) }
        return InputDependencies(keys: walker.wholeInput ? nil : walker.keys, deterministic: walker.deterministic)
    }

    private mutating func rule(_ r: CompiledRule) {
        for t in r.dynamicRef { term(t) }
        for t in r.args { term(t) }
        if let k = r.key { term(k) }
        if let v = r.value { term(v) }
        for e in r.body { expr(e) }
        for clause in r.elses {
            if let v = clause.value { term(v) }
            for e in clause.body { expr(e) }
        }
    }

    private mutating func expr(_ e: Expr) {
        switch e.kind {
        case .term(let t): term(t)
        case .some(let ts): for t in ts { term(t) }
        case .someIn(let key, let value, let collection):
            if let key { term(key) }
            term(value)
            term(collection)
        case .every(let key, let value, let domain, let body):
            if let key { term(key) }
            term(value)
            term(domain)
            for b in body { expr(b) }
        }
        // A `with` target is replaced, not read; its value is evaluated.
        for w in e.withs { term(w.value) }
    }

    private mutating func term(_ t: Term) {
        switch t.kind {
        case .scalar, .variable, .local:
            break
        case .inputRoot:
            wholeInput = true
        case .dataRoot:
            reachSubtree(root)
        case .ref(let head, let segments):
            switch head.kind {
            case .inputRoot:
                if let first = segments.first, case .scalar(.string(let key)) = first.kind {
                    keys.insert(key)
                } else {
                    wholeInput = true
                }
            case .dataRoot:
                reachData(segments)
            default:
                term(head)
            }
            for s in segments { term(s) }
        case .array(let ts), .set(let ts):
            for x in ts { term(x) }
        case .object(let pairs):
            for (k, v) in pairs { term(k); term(v) }
        case .arrayComp(let head, let body), .setComp(let head, let body):
            term(head)
            for e in body { expr(e) }
        case .objectComp(let k, let v, let body):
            term(k)
            term(v)
            for e in body { expr(e) }
        case .call(let name, let args):
            // The compiler leaves unification and assignment as calls; anything else is unknown.
            if name != "eq" && name != "assign" { deterministic = false }
            for a in args { term(a) }
        case .resolvedCall(let target, let args):
            switch target {
            case .builtin(let b):
                if b.nondeterministic || !b.isStandard || effectBuiltins.contains(b.name) { deterministic = false }
            case .function(let path):
                if let node = root.lookup(path[...]) { reachSubtree(node) } else { deterministic = false }
            }
            for a in args { term(a) }
        case .template(let parts):
            for case .term(let x) in parts { term(x) }
        }
    }

    /// `data.a.b[x]...`: the rules of every node along the ground prefix (a rule there produces
    /// the value looked into), and all of the subtree where the prefix ends inside the tree.
    private mutating func reachData(_ segments: [Term]) {
        var node = root
        for s in segments {
            reachOwn(node)
            guard case .scalar(.string(let key)) = s.kind else { break }
            guard let child = node.children[key] else { return }  // plain data from here on
            node = child
        }
        reachSubtree(node)
    }

    private mutating func reachOwn(_ node: RuleNode) {
        guard !node.rules.isEmpty || node.defaultRule != nil || !node.functions.isEmpty else { return }
        guard visited.insert(ObjectIdentifier(node)).inserted else { return }
        pending += node.rules
        pending += node.functions
        if let d = node.defaultRule { pending.append(d) }
    }

    private mutating func reachSubtree(_ node: RuleNode) {
        reachOwn(node)
        for child in node.children.values { reachSubtree(child) }
    }
}
