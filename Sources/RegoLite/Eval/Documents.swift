/// References into `input`, local values and `data` (base documents merged with the virtual
/// documents that rules define).
extension Evaluator {
    var baseData: Value? { policy.data }

    func evalRef(_ head: Term, _ segs: [Term], _ f: Frame, _ k: VCont) throws -> Bool {
        switch head.kind {
        case .dataRoot: return try evalData(policy.root, baseData, [], segs, 0, f, k)
        case .inputRoot:
            guard let i = input else { return false }
            return try walk(i, segs, 0, f, k)
        case .local(let s, _):
            if let v = f.slots[s] { return try walk(v, segs, 0, f, k) }
            return try evalTerm(head, f) { try self.walk($0, segs, 0, f, k) }
        default:
            return try evalTerm(head, f) { try self.walk($0, segs, 0, f, k) }
        }
    }

    /// Walks a plain value along ref segments, iterating over unbound variables.
    /// `storage`: base documents (JSON data) also answer integer keys with their string form, as OPA's store does.
    func walk(_ v: Value, _ segs: [Term], _ i: Int, _ f: Frame, _ k: VCont, storage: Bool = false) throws -> Bool {
        if i == segs.count { return try k(v) }
        let seg = segs[i]
        @inline(__always) func get(_ key: Value) -> Value? {
            if let c = v[key] { return c }
            if storage, case .object = v, case .number(.int(let n)) = key { return v[.string(String(n))] }
            return nil
        }
        switch seg.kind {
        case .scalar(let key):
            guard let c = get(key) else { return false }
            return try walk(c, segs, i + 1, f, k, storage: storage)
        case .local(let s, _):
            if let key = f.slots[s] {
                guard let c = get(key) else { return false }
                return try walk(c, segs, i + 1, f, k, storage: storage)
            }
            let r = try iterate(v) { kk, vv in
                f.slots[s] = kk
                return try self.walk(vv, segs, i + 1, f, k)
            }
            f.slots[s] = nil
            return r
        default:
            if isUnboundPattern(seg, f) {
                return try iterate(v) { kk, vv in try self.unifyValue(seg, kk, f) { try self.walk(vv, segs, i + 1, f, k) } }
            }
            return try evalTerm(seg, f) { key in
                guard let c = v[key] else { return false }
                return try self.walk(c, segs, i + 1, f, k)
            }
        }
    }

    // MARK: data
    func overrideAt(_ path: [String]) -> Value?? {
        for (p, v) in dataOverrides.reversed() where p == path { return .some(v) }
        return nil
    }

    /// Applies `with data...` replacements that lie strictly below `path` to a value.
    func patchOverrides(_ v: Value?, _ path: [String]) -> Value? {
        var out = v
        for (p, val) in dataOverrides where p.count > path.count && Array(p.prefix(path.count)) == path {
            out = setPath(out ?? .emptyObject, Array(p[path.count...]).map { .string($0) }, val)
        }
        return out
    }

    func evalData(_ node: RuleNode?, _ base: Value?, _ path: [String], _ segs: [Term], _ i: Int, _ f: Frame, _ k: VCont) throws -> Bool {
        if !dataOverrides.isEmpty {
            if let ov = overrideAt(path) { return try walk(ov!, segs, i, f, k) }
        }
        guard let node, node.hasRules else {
            let b = dataOverrides.isEmpty ? base : patchOverrides(base, path)
            guard let b else { return false }
            return try walk(b, segs, i, f, k, storage: true)
        }
        if !node.rules.isEmpty || node.defaultRule != nil {
            // OPA reads base data where it exists at a rule's path.
            if let b = base, node.children.isEmpty { return try walk(b, segs, i, f, k) }
            let v: Value?
            if node.children.isEmpty { v = try ruleValue(node) } else { v = try fullValue(node, base, path) }
            guard let v else { return false }
            return try walk(dataOverrides.isEmpty ? v : (patchOverrides(v, path) ?? v), segs, i, f, k)
        }
        if !node.functions.isEmpty { return false }
        if i == segs.count {
            guard let v = try fullValue(node, base, path) else { return false }
            return try k(v)
        }
        let seg = segs[i]
        func step(_ key: Value) throws -> Bool {
            if case .string(let s) = key, let child = node.children[s] {
                return try self.evalData(child, base?[key], path + [s], segs, i + 1, f, k)
            }
            var b = base?[key]
            if b == nil, case .number(.int(let n)) = key { b = base?[.string(String(n))] }
            if !self.dataOverrides.isEmpty, case .string(let s) = key {
                if let ov = self.overrideAt(path + [s]) { b = ov } else { b = self.patchOverrides(b, path + [s]) }
            }
            guard let b else { return false }
            return try self.walk(b, segs, i + 1, f, k, storage: true)
        }
        if isUnboundPattern(seg, f) {
            // Iterate over the union of base keys and rule-tree children.
            var keys = Set<Value>(node.childKeys.map { .string($0) })
            if case .object(let o) = base { keys.formUnion(o.keys) }
            for key in keys.sorted() {
                try self.step()
                if try unifyValue(seg, key, f, { try step(key) }) { return true }
            }
            return false
        }
        if case .scalar(let key) = seg.kind { return try step(key) }
        return try evalTerm(seg, f) { try step($0) }
    }

    /// The whole document at a node: base data merged with every rule below.
    func fullValue(_ node: RuleNode, _ base: Value?, _ path: [String]) throws -> Value? {
        if let ov = overrideAt(path) { return ov }
        if !node.hasRules { return patchOverrides(base, path) }
        var obj: RegoObject
        if !node.rules.isEmpty || node.defaultRule != nil {
            if let b = base, node.children.isEmpty { return b }
            guard let rv = try ruleValue(node) else { return node.children.isEmpty ? nil : nil }
            guard case .object(let o) = rv else { return rv }
            obj = o
            for key in node.childKeys {
                if let ex = o[.string(key)], let c = node.children[key], c.hasRules, let cv = try fullValue(c, nil, path + [key]), cv != ex {
                    throw RegoError(code: .evalConflict, message: "object keys must be unique", location: node.rules.first?.location)
                }
            }
        } else if case .object(let o) = base { obj = o } else { obj = RegoObject() }
        for key in node.childKeys {
            let child = node.children[key]!
            if let cv = try fullValue(child, base?[.string(key)], path + [key]) {
                if let existing = obj[.string(key)], case .object(let eo) = existing, case .object(let co) = cv {
                    obj[.string(key)] = .object(merge(eo, co))
                } else { obj[.string(key)] = cv }
            }
        }
        return patchOverrides(.object(obj), path)
    }

    func merge(_ a: RegoObject, _ b: RegoObject) -> RegoObject {
        var out = a
        for i in 0..<b.count {
            if let ex = out[b.keys[i]], case .object(let eo) = ex, case .object(let bo) = b.values[i] { out[b.keys[i]] = .object(merge(eo, bo)) }
            else { out[b.keys[i]] = b.values[i] }
        }
        return out
    }

    func setPath(_ v: Value, _ path: [Value], _ newValue: Value) -> Value {
        guard let first = path.first else { return newValue }
        var o: RegoObject
        if case .object(let x) = v { o = x } else { o = RegoObject() }
        let child = o[first] ?? .emptyObject
        o[first] = setPath(child, Array(path.dropFirst()), newValue)
        return .object(o)
    }

    // MARK: rule values
    func ruleValue(_ node: RuleNode) throws -> Value? {
        let id = ObjectIdentifier(node)
        if let v = cache.values[id] { return v }
        if cache.inProgress.contains(id) {
            throw RegoError(code: .recursion, message: "rule data.\(node.path.joined(separator: ".")) is recursive", location: node.rules.first?.location)
        }
        cache.inProgress.insert(id)
        defer { cache.inProgress.remove(id) }
        let v = try computeRuleValue(node)
        cache.values[id] = .some(v)
        return v
    }

    func computeRuleValue(_ node: RuleNode) throws -> Value? {
        switch node.kind {
        case .complete?:
            var result: Value?
            for r in node.rules {
                try evalRuleBodies(r, args: nil) { v in
                    if let prev = result, prev != v {
                        throw RegoError(code: .evalConflict, message: "complete rules must not produce multiple outputs", location: r.location)
                    }
                    result = v
                }
            }
            if result == nil, let d = node.defaultRule, let v = d.value { result = try constant(v, frameSize: d.frameSize) }
            return result
        case .partialSet?:
            var out: [Value] = []
            for r in node.rules {
                let f = Frame(size: r.frameSize)
                _ = try evalBody(r.body, 0, f) {
                    try self.evalTerm(r.key!, f) { v in out.append(v); return false }
                }
            }
            return .set(RegoSet(out))
        case .partialObject?:
            var obj = Value.emptyObject
            for r in node.rules {
                let f = Frame(size: r.frameSize)
                let valueTerm = r.value ?? Term(.scalar(.true), r.location)
                let found = try evalRuleChainObject(r, f, valueTerm) { keys, v in
                    obj = try self.insertPath(obj, keys[...], v, r.location)
                }
                _ = found
            }
            return obj
        case .function?, nil:
            return nil
        }
    }

    /// Partial-object rules: main body then else bodies (first that produces wins).
    func evalRuleChainObject(_ r: CompiledRule, _ f: Frame, _ valueTerm: Term, _ emit: @escaping ([Value], Value) throws -> Void) throws -> Bool {
        var produced = false
        _ = try evalBody(r.body, 0, f) {
            try self.evalTerms(r.dynamicRef + [valueTerm], 0, [], f) { vs in
                produced = true
                try emit(Array(vs.dropLast()), vs.last!)
                return false
            }
        }
        return produced
    }

    func insertPath(_ doc: Value, _ keys: ArraySlice<Value>, _ v: Value, _ loc: Location) throws -> Value {
        guard let first = keys.first else { return v }
        guard case .object(var o) = doc else {
            throw RegoError(code: .evalConflict, message: "object keys must be unique", location: loc)
        }
        if keys.count == 1 {
            if let ex = o[first], ex != v {
                throw RegoError(code: .evalConflict, message: "object keys must be unique", location: loc)
            }
            o[first] = v
        } else {
            let child = o[first] ?? .emptyObject
            o[first] = try insertPath(child, keys.dropFirst(), v, loc)
        }
        return .object(o)
    }

    /// Evaluates a complete rule or function: the main body, else the `else` chain in order.
    /// `emit` receives every value produced by the first body that produces any.
    func evalRuleBodies(_ r: CompiledRule, args: [Value]?, _ emit: (Value) throws -> Void) throws {
        let f = Frame(size: r.frameSize)
        var produced = false
        func run(_ body: [Expr], _ value: Term?) throws {
            let vt = value ?? Term(.scalar(.true), r.location)
            let constant: Bool = { if case .scalar = vt.kind { return true }; return false }()
            _ = try self.evalBody(body, 0, f) {
                try self.evalTerm(vt, f) { v in
                    produced = true
                    try emit(v)
                    return constant
                }
            }
        }
        func all() throws -> Bool {
            try run(r.body, r.value)
            if !produced {
                for e in r.elses {
                    try run(e.body, e.value)
                    if produced { break }
                }
            }
            return false
        }
        if let args {
            _ = try unifyList(r.args, args, 0, f, { try all() })
        } else {
            _ = try all()
        }
    }

    func constant(_ t: Term, frameSize: Int = 0) throws -> Value? {
        var out: Value?
        _ = try evalTerm(t, Frame(size: frameSize)) { v in out = v; return true }
        return out
    }
}
