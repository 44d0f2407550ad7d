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
        if i == segs.count { return try resumeWith(k, v) }
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
            return try resumeWith(k, v)
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
        let c = cache
        let i = node.index
        switch c.entries[i] {
        case .done(let v): return v
        case .inProgress:
            throw RegoError(code: .recursion, message: "rule data.\(node.path.joined(separator: ".")) is recursive", location: node.rules.first?.location)
        case .empty: break
        }
        c.entries[i] = .inProgress
        let v: Value?
        do { v = try computeRuleValue(node) } catch { c.entries[i] = .empty; throw error }
        c.entries[i] = .done(v)
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
            if result == nil, let d = node.defaultRule, d.value != nil { result = try defaultValue(d) }
            return result
        case .partialSet?:
            var out: [Value] = []
            for r in node.rules {
                let plan = r.plan!
                try withFrame(r.frameSize) { f in
                    _ = try runBody(plan.main.body, 0, f) {
                        if let v = try plan.key!.eval(self, f) { out.append(v) }
                        return false
                    }
                }
            }
            return .set(RegoSet(out))
        case .partialObject?:
            var obj = Value.emptyObject
            for r in node.rules {
                let plan = r.plan!
                try withFrame(r.frameSize) { f in
                    if let terms = plan.objectTerms {
                        _ = try runBody(plan.main.body, 0, f) {
                            var keys: [Value] = []
                            keys.reserveCapacity(terms.count - 1)
                            for t in terms.dropLast() { guard let v = try t.eval(self, f) else { return false }; keys.append(v) }
                            guard let v = try terms[terms.count - 1].eval(self, f) else { return false }
                            obj = try self.insertPath(obj, keys[...], v, r.location)
                            return false
                        }
                    } else {
                        let valueTerm = r.value ?? Term(.scalar(.true), r.location)
                        _ = try runBody(plan.main.body, 0, f) {
                            try self.evalTerms(r.dynamicRef + [valueTerm], 0, [], f) { vs in
                                obj = try self.insertPath(obj, Array(vs.dropLast())[...], vs.last!, r.location)
                                return false
                            }
                        }
                    }
                }
            }
            return obj
        case .function?, nil:
            return nil
        }
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
        let plan = r.plan!
        let size = r.frameSize
        let (f, frameMark) = pushFrame(size)
        defer { popFrame(f, size, frameMark) }
        guard let args else { try runBranches(plan, f, emit); return }
        if let patterns = plan.args {
            let mark = trailTop
            defer { undo(mark) }
            for i in 0..<patterns.count { guard try unifyPattern(patterns[i], args[i], f) else { return } }
            try runBranches(plan, f, emit)
        } else {
            _ = try unifyList(r.args, args, 0, f) { try self.runBranches(plan, f, emit); return false }
        }
    }

    /// The main body, then the `else` bodies in order until one produces a value.
    func runBranches(_ plan: RulePlan, _ f: Frame, _ emit: (Value) throws -> Void) throws {
        if try runBranch(plan.main, f, emit) { return }
        for e in plan.elses { if try runBranch(e, f, emit) { return } }
    }

    /// Every value of one body (the first only when the value is constant); whether any.
    func runBranch(_ br: RulePlan.Branch, _ f: Frame, _ emit: (Value) throws -> Void) throws -> Bool {
        var produced = false
        _ = try runBody(br.body, 0, f) {
            guard let v = try br.value.eval(self, f) else { return false }
            produced = true
            try emit(v)
            return br.constant
        }
        return produced
    }

    /// The value of a default rule or function.
    func defaultValue(_ d: CompiledRule) throws -> Value? {
        try withFrame(d.frameSize) { f in try d.plan!.main.value.eval(self, f) }
    }

    func constant(_ t: Term, frameSize: Int = 0) throws -> Value? {
        try withFrame(frameSize) { f in
            var out: Value?
            _ = try evalTerm(t, f) { v in out = v; return true }
            return out
        }
    }
}
