/// Unification (`=`, `:=`, patterns in `some ... in`, function arguments).
extension Evaluator {
    /// A term with an unbound variable in a pattern position (var, array element, object value).
    func isUnboundPattern(_ t: Term, _ f: Frame) -> Bool {
        switch t.kind {
        case .local(let s, _): return f.slots[s] == nil
        case .array(let a): return a.contains { isUnboundPattern($0, f) }
        case .object(let ps): return ps.contains { isUnboundPattern($0.1, f) }
        default: return false
        }
    }

    func unify(_ a: Term, _ b: Term, _ f: Frame, _ k: Cont) throws -> Bool {
        let ua = isUnboundPattern(a, f), ub = isUnboundPattern(b, f)
        if ua && ub {
            switch (a.kind, b.kind) {
            case (.array(let x), .array(let y)):
                guard x.count == y.count else { return false }
                return try unifyPairs(Array(zip(x, y)), 0, f, k)
            case (.object(let x), .object(let y)):
                guard x.count == y.count else { return false }
                // keys are evaluated; pair values by key
                return try evalTerms(x.map(\.0), 0, [], f) { xk in
                    try self.evalTerms(y.map(\.0), 0, [], f) { yk in
                        var pairs: [(Term, Term)] = []
                        for (i, kx) in xk.enumerated() {
                            guard let j = yk.firstIndex(of: kx) else { return false }
                            pairs.append((x[i].1, y[j].1))
                        }
                        return try self.unifyPairs(pairs, 0, f, k)
                    }
                }
            default:
                throw RegoError(code: .evalInternal, message: "unification of two unbound terms", location: a.loc)
            }
        }
        if ua { return try evalTerm(b, f) { v in try self.unifyValue(a, v, f, k) } }
        if ub { return try evalTerm(a, f) { v in try self.unifyValue(b, v, f, k) } }
        // Both sides evaluable: refs may still bind variables by iteration.
        return try evalTerm(a, f) { va in try self.unifyValue(b, va, f, k) }
    }

    func unifyPairs(_ pairs: [(Term, Term)], _ i: Int, _ f: Frame, _ k: Cont) throws -> Bool {
        if i == pairs.count { return try resume(k) }
        // Pick a pair that can run now (one side evaluable) to avoid two unbound sides.
        var order = Array(i..<pairs.count)
        if let j = order.firstIndex(where: { !(isUnboundPattern(pairs[$0].0, f) && isUnboundPattern(pairs[$0].1, f)) }), j != 0 {
            order.swapAt(0, j)
            var p = pairs
            p.swapAt(i, order[0])
            return try unify(p[i].0, p[i].1, f) { try self.unifyPairs(p, i + 1, f, k) }
        }
        return try unify(pairs[i].0, pairs[i].1, f) { try self.unifyPairs(pairs, i + 1, f, k) }
    }

    /// Unifies a term with a value, binding the term's unbound variables.
    func unifyValue(_ t: Term, _ v: Value, _ f: Frame, _ k: Cont) throws -> Bool {
        switch t.kind {
        case .local(let s, _):
            if let cur = f.slots[s] { return cur == v ? try resume(k) : false }
            f.slots[s] = v
            defer { f.slots[s] = nil }
            return try resume(k)
        case .scalar(let x):
            return x == v ? try resume(k) : false
        case .array(let items):
            guard case .array(let vs) = v, vs.count == items.count else { return false }
            return try unifyList(items, vs, 0, f, k)
        case .object(let pairs):
            guard case .object(let o) = v, o.count == pairs.count else { return false }
            return try unifyObject(pairs, 0, o, f, k)
        default:
            return try evalTerm(t, f) { tv in tv == v ? try resume(k) : false }
        }
    }

    func unifyList(_ items: [Term], _ vs: [Value], _ i: Int, _ f: Frame, _ k: Cont) throws -> Bool {
        if i == items.count { return try resume(k) }
        return try unifyValue(items[i], vs[i], f) { try self.unifyList(items, vs, i + 1, f, k) }
    }

    func unifyObject(_ pairs: [(Term, Term)], _ i: Int, _ o: RegoObject, _ f: Frame, _ k: Cont) throws -> Bool {
        if i == pairs.count { return try resume(k) }
        return try evalTerm(pairs[i].0, f) { kv in
            guard let vv = o[kv] else { return false }
            return try self.unifyValue(pairs[i].1, vv, f) { try self.unifyObject(pairs, i + 1, o, f, k) }
        }
    }
}
