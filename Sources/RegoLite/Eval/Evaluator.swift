import Foundation

/// Local variables of one rule or query evaluation, by slot: a window of the evaluator's slot
/// stack (`Evaluator.pushFrame`), valid until it is popped. A trivial value: no allocation and
/// no reference counting per rule or function evaluation.
struct Frame {
    let slots: UnsafeMutablePointer<Value?>
}

/// Memoised rule values for one `with` context, by `RuleNode.index`.
final class RuleCache {
    enum Entry {
        case empty
        case inProgress
        case done(Value?)
    }
    let entries: UnsafeMutablePointer<Entry>
    let count: Int
    init(count: Int) {
        self.count = max(count, 1)
        entries = .allocate(capacity: self.count)
        // Element by element: `initialize(repeating:count:)` goes through value witnesses.
        for i in 0..<self.count { (entries + i).initialize(to: .empty) }
    }
    deinit {
        for i in 0..<count { if case .done = entries[i] { (entries + i).deinitialize(count: 1) } }
        entries.deallocate()
    }
}

/// Options for one evaluation.
public struct EvalOptions: Sendable {
    /// Builtin errors halt evaluation (OPA's `StrictBuiltinErrors`); otherwise they are undefined.
    public var strictBuiltinErrors: Bool = false
    /// Upper bound on evaluation steps (expressions, iterations, calls) per query.
    public var maxSteps: Int = 20_000_000
    /// `time.now_ns` for the query; `nil` takes the clock once when evaluation starts.
    public var nowNs: Int64? = nil
    public var printSink: (@Sendable (String) -> Void)? = nil
    public init(strictBuiltinErrors: Bool = false, maxSteps: Int = 20_000_000, nowNs: Int64? = nil) {
        self.strictBuiltinErrors = strictBuiltinErrors; self.maxSteps = maxSteps; self.nowNs = nowNs
    }
}

typealias Cont = () throws -> Bool
typealias VCont = (Value) throws -> Bool

/// The top-down evaluator: continuation-passing over compiled bodies with backtracking. A
/// continuation returns `true` to stop the enumeration early. One instance per query, used by
/// one thread; the compiled policy it reads is shared and never mutated.
///
/// Rules, functions and queries run through their plans (`Plan.swift`, `PlanEval.swift`); the
/// term-level code below is the general path that plans fall back to for rare shapes.
///
/// The mutable state is `@exclusivity(unchecked)`: an evaluator is confined to one thread and its
/// code never holds an inout access to one of these properties across a call that could touch the
/// same property, so the dynamic exclusivity checks (about 10 % of evaluation time) buy nothing.
final class Evaluator {
    let policy: CompiledPolicy
    let ctx: BuiltinContext
    let strict: Bool
    let maxSteps: Int
    @exclusivity(unchecked) var steps = 0
    /// `input` (replaced by `with input as ...`), in a slot plans can read without a copy.
    let inputSlot: UnsafeMutablePointer<Value?>
    var input: Value? {
        get { inputSlot.pointee }
        set { inputSlot.pointee = newValue }
    }
    @exclusivity(unchecked) var dataOverrides: [([String], Value)] = []
    @exclusivity(unchecked) var functionOverrides: [String: WithReplacement] = [:]
    @exclusivity(unchecked) var cache: RuleCache

    // Slot stack: frames are windows of fixed chunks (a chunk never moves, so a frame stays valid
    // while newer frames live in newer chunks). Slots below a chunk's `initialized` mark are
    // initialized, and nil whenever no frame holds them.
    @exclusivity(unchecked) var chunks: [(base: UnsafeMutablePointer<Value?>, capacity: Int, initialized: Int)] = []
    @exclusivity(unchecked) var chunkIndex = 0
    @exclusivity(unchecked) var chunkTop = 0

    // Trail: the slots bound by plans (`bind`), undone in reverse order on backtracking.
    @exclusivity(unchecked) var trail: UnsafeMutablePointer<UnsafeMutablePointer<Value?>>
    @exclusivity(unchecked) var trailTop = 0
    @exclusivity(unchecked) var trailCapacity = 32

    // The general evaluator below calls its continuations only through these function values,
    // never directly. The optimizer's closure specialization clones a function for each
    // closure literal passed to it that it sees being called there (following direct calls);
    // in continuation-passing code every clone passes further closure literals on to further
    // functions, and a whole-module release build made hundreds of copies of every evaluator
    // function (walk 360, evalTerm 579, evalData 360, ...: 681 MB of LLVM IR before LLVM's own
    // optimizations, more than 30 CPU minutes and 12 GB). A call through a stored function value
    // is opaque to that analysis. `var`, not `let`: a `let` initialized with a constant closure
    // may be propagated into its uses (LetPropertiesOpt), which would make the calls direct again.
    @exclusivity(unchecked) var resume: (Cont) throws -> Bool = { k in try k() }
    @exclusivity(unchecked) var resumeWith: (VCont, Value) throws -> Bool = { k, v in try k(v) }
    @exclusivity(unchecked) var resumeValues: (([Value]) throws -> Bool, [Value]) throws -> Bool = { k, vs in try k(vs) }
    @exclusivity(unchecked) var resumePair: ((Value, Value) throws -> Bool, Value, Value) throws -> Bool = { k, a, b in try k(a, b) }

    enum WithReplacement {
        case value(Value)
        case target(CallTarget)
    }

    init(policy: CompiledPolicy, input: Value?, options: EvalOptions) {
        self.policy = policy
        inputSlot = .allocate(capacity: 1)
        inputSlot.initialize(to: input)
        self.strict = options.strictBuiltinErrors
        self.maxSteps = options.maxSteps
        let now = options.nowNs ?? Int64(Date().timeIntervalSince1970 * 1e9)
        self.ctx = BuiltinContext(nowNs: now, precompiledRegex: policy.regexes)
        self.ctx.printSink = options.printSink
        self.cache = RuleCache(count: policy.nodeCount)
        trail = .allocate(capacity: 32)
        chunks.append((.allocate(capacity: 128), 128, 0))
    }

    deinit {
        for c in chunks {
            // Every slot is nil again once the frames are popped; release anything left anyway.
            for i in 0..<c.initialized { if case .some = c.base[i] { c.base[i] = nil } }
            c.base.deallocate()
        }
        trail.deallocate()
        inputSlot.deinitialize(count: 1)
        inputSlot.deallocate()
    }

    @inline(__always) func step() throws {
        steps &+= 1
        if steps > maxSteps { try stepLimitExceeded() }
    }

    @inline(never) func stepLimitExceeded() throws {
        throw RegoError(code: .evalLimit, message: "evaluation exceeded the limit of \(maxSteps) steps")
    }

    // MARK: frames
    /// A frame of `size` nil slots on top of the slot stack; `popFrame` with the returned mark.
    @inline(__always) func pushFrame(_ size: Int) -> (Frame, mark: (Int, Int)) {
        let mark = (chunkIndex, chunkTop)
        let c = chunks[chunkIndex]
        let end = chunkTop + size
        if end <= c.initialized {
            let f = Frame(slots: c.base + chunkTop)
            chunkTop = end
            return (f, mark)
        }
        return (pushFrameSlow(size), mark)
    }

    @inline(never) func pushFrameSlow(_ size: Int) -> Frame {
        var end = chunkTop + size
        if end > chunks[chunkIndex].capacity {
            chunkIndex += 1
            if chunkIndex == chunks.count || chunks[chunkIndex].capacity < size {
                let cap = max(size, 256)
                let p = UnsafeMutablePointer<Value?>.allocate(capacity: cap)
                if chunkIndex == chunks.count { chunks.append((p, cap, 0)) } else {
                    // A chunk above the current one holds no frame: replace it by a larger one.
                    let old = chunks[chunkIndex]
                    for i in 0..<old.initialized { if case .some = old.base[i] { old.base[i] = nil } }
                    old.base.deallocate()
                    chunks[chunkIndex] = (p, cap, 0)
                }
            }
            chunkTop = 0
            end = size
        }
        let c = chunks[chunkIndex]
        if end > c.initialized {
            for i in c.initialized..<end { (c.base + i).initialize(to: nil) }
            chunks[chunkIndex].initialized = end
        }
        let f = Frame(slots: c.base + chunkTop)
        chunkTop = end
        return f
    }

    /// Pops the frame pushed with `mark`; its slots become nil again.
    @inline(__always) func popFrame(_ f: Frame, _ size: Int, _ mark: (Int, Int)) {
        for i in 0..<size { if case .some = f.slots[i] { f.slots[i] = nil } }
        chunkIndex = mark.0
        chunkTop = mark.1
    }

    /// Runs `body` with a fresh frame of `size` slots.
    @inline(__always) func withFrame<R>(_ size: Int, _ body: (Frame) throws -> R) rethrows -> R {
        let (f, mark) = pushFrame(size)
        defer { popFrame(f, size, mark) }
        return try body(f)
    }

    // MARK: trail
    /// Binds an unbound slot; the binding lasts until the trail is undone past it.
    @inline(__always) func bind(_ slot: UnsafeMutablePointer<Value?>, _ v: consuming Value) {
        // The slot is nil (only unbound slots are bound): nothing to release, just store.
        slot.initialize(to: consume v)
        if trailTop == trailCapacity { growTrail() }
        trail[trailTop] = slot
        trailTop &+= 1
    }

    @inline(never) func growTrail() {
        let n = UnsafeMutablePointer<UnsafeMutablePointer<Value?>>.allocate(capacity: trailCapacity * 2)
        n.moveInitialize(from: trail, count: trailTop)
        trail.deallocate()
        trail = n
        trailCapacity *= 2
    }

    /// Unbinds every slot bound since `mark` (a former `trailTop`).
    @inline(__always) func undo(_ mark: Int) {
        while trailTop > mark {
            trailTop &-= 1
            trail[trailTop].pointee = nil
        }
    }

    // MARK: bodies and expressions
    func evalBody(_ body: [Expr], _ i: Int, _ f: Frame, _ k: Cont) throws -> Bool {
        if i == body.count { return try resume(k) }
        return try evalExpr(body[i], f) { try self.evalBody(body, i + 1, f, k) }
    }

    func evalExpr(_ e: Expr, _ f: Frame, _ k: Cont) throws -> Bool {
        try step()
        if !e.withs.isEmpty { return try evalWith(e, f, k) }
        if e.negated {
            var found = false
            _ = try evalExprInner(e, f) { found = true; return true }
            return found ? false : try resume(k)
        }
        return try evalExprInner(e, f, k)
    }

    func evalExprInner(_ e: Expr, _ f: Frame, _ k: Cont) throws -> Bool {
        switch e.kind {
        case .term(let t):
            if case .call(let op, let a) = t.kind, op == "eq" || op == "assign" {
                return try unify(a[0], a[1], f, k)
            }
            return try evalTerm(t, f) { v in
                if case .bool(false) = v { return false }
                return try resume(k)
            }
        case .some:
            return try resume(k)
        case .someIn(let key, let value, let coll):
            return try evalTerm(coll, f) { c in
                try self.iterate(c) { kk, vv in
                    try self.unifyValue(value, vv, f) {
                        if let key { return try self.unifyValue(key, kk, f, k) }
                        return try resume(k)
                    }
                }
            }
        case .every(let key, let value, let dom, let body):
            return try evalTerm(dom, f) { d in
                switch d { case .array, .object, .set: break; default: return false }
                var ok = true
                _ = try self.iterate(d) { kk, vv in
                    var found = false
                    _ = try self.unifyValue(value, vv, f) {
                        let run: Cont = { try self.evalBody(body, 0, f) { found = true; return true } }
                        if let key { return try self.unifyValue(key, kk, f, run) }
                        return try run()
                    }
                    if !found { ok = false; return true }
                    return false
                }
                return ok ? try resume(k) : false
            }
        }
    }

    /// Calls `fn(key, value)` for each element: array (index, element), object (key, value),
    /// set (element, element). Other values have no elements.
    func iterate(_ c: Value, _ fn: (Value, Value) throws -> Bool) throws -> Bool {
        switch c {
        case .array(let a):
            for (i, v) in a.enumerated() { try step(); if try resumePair(fn, .int(i), v) { return true } }
        case .object(let o):
            for i in 0..<o.count { try step(); if try resumePair(fn, o.keys[i], o.values[i]) { return true } }
        case .set(let s):
            for v in s.elements { try step(); if try resumePair(fn, v, v) { return true } }
        default: break
        }
        return false
    }

    // MARK: terms
    func evalTerm(_ t: Term, _ f: Frame, _ k: VCont) throws -> Bool {
        switch t.kind {
        case .scalar(let v): return try resumeWith(k, v)
        case .local(let s, let name):
            guard let v = f.slots[s] else {
                throw RegoError(code: .evalInternal, message: "var \(name) is unbound", location: t.loc)
            }
            return try resumeWith(k, v)
        case .inputRoot:
            guard let i = input else { return false }
            return try resumeWith(k, i)
        case .dataRoot:
            return try evalData(policy.root, baseData, [], [], 0, f, k)
        case .ref(let h, let segs):
            return try evalRef(h, segs, f, k)
        case .array(let items):
            if let vs = groundValues(items, f) { return try resumeWith(k, .array(vs)) }
            return try evalTerms(items, 0, [], f) { try resumeWith(k, .array($0)) }
        case .set(let items):
            if let vs = groundValues(items, f) { return try resumeWith(k, .set(RegoSet(vs))) }
            return try evalTerms(items, 0, [], f) { try resumeWith(k, .set(RegoSet($0))) }
        case .object(let pairs):
            // Literals are built directly: a long literal must not become a deep continuation chain.
            if let v = groundValue(t, f) { return try resumeWith(k, v) }
            var flat: [Term] = []
            flat.reserveCapacity(pairs.count * 2)
            for (a, b) in pairs { flat.append(a); flat.append(b) }
            return try evalTerms(flat, 0, [], f) { vs in
                var ps: [(Value, Value)] = []
                var i = 0
                while i < vs.count { ps.append((vs[i], vs[i + 1])); i += 2 }
                return try resumeWith(k, .object(RegoObject(pairs: ps)))
            }
        case .arrayComp(let h, let body):
            var out: [Value] = []
            _ = try evalBody(body, 0, f) { try self.evalTerm(h, f) { v in out.append(v); return false } }
            return try resumeWith(k, .array(out))
        case .setComp(let h, let body):
            var out: [Value] = []
            _ = try evalBody(body, 0, f) { try self.evalTerm(h, f) { v in out.append(v); return false } }
            return try resumeWith(k, .set(RegoSet(out)))
        case .objectComp(let kt, let vt, let body):
            var obj = RegoObject()
            _ = try evalBody(body, 0, f) {
                try self.evalTerm(kt, f) { kv in
                    try self.evalTerm(vt, f) { vv in
                        if let ex = obj[kv], ex != vv {
                            throw RegoError(code: .evalConflict, message: "object keys must be unique", location: t.loc)
                        }
                        obj[kv] = vv
                        return false
                    }
                }
            }
            return try resumeWith(k, .object(obj))
        case .resolvedCall(let target, let args):
            if case .builtin(let b) = target, b.name == "print" { return try evalPrint(args, f, t.loc, k) }
            if let vs = groundValues(args, f) { return try callEach(target, vs, t.loc, k) }
            // Arguments that are unbound variables are evaluated last (refs may bind them).
            let unboundIdx = args.indices.filter { if case .local(let s, _) = args[$0].kind { return f.slots[s] == nil }; return false }
            if !unboundIdx.isEmpty {
                let order = args.indices.filter { !unboundIdx.contains($0) } + unboundIdx
                return try evalTerms(order.map { args[$0] }, 0, [], f) { vs in
                    var placed = [Value](repeating: .null, count: vs.count)
                    for (j, i) in order.enumerated() { placed[i] = vs[j] }
                    return try self.callEach(target, placed, t.loc, k)
                }
            }
            return try evalTerms(args, 0, [], f) { vs in try self.callEach(target, vs, t.loc, k) }
        case .template(let parts):
            return try evalTemplate(parts, 0, "", f, k)
        case .call(let op, _):
            throw RegoError(code: .evalInternal, message: "unexpected \(op) in term position", location: t.loc)
        case .variable(let n):
            throw RegoError(code: .evalInternal, message: "unresolved var \(n)", location: t.loc)
        }
    }

    /// Values of terms that need no iteration (scalars, bound locals, composites of those).
    @inline(__always) func groundValues(_ items: [Term], _ f: Frame) -> [Value]? {
        var out: [Value] = []
        out.reserveCapacity(items.count)
        for t in items { guard let v = groundValue(t, f) else { return nil }; out.append(v) }
        return out
    }

    func groundValue(_ t: Term, _ f: Frame) -> Value? {
        switch t.kind {
        case .scalar(let v): return v
        case .local(let s, _): return f.slots[s]
        case .array(let items): return groundValues(items, f).map { .array($0) }
        case .set(let items): return groundValues(items, f).map { .set(RegoSet($0)) }
        case .object(let pairs):
            var ps: [(Value, Value)] = []
            ps.reserveCapacity(pairs.count)
            for (a, b) in pairs { guard let k = groundValue(a, f), let v = groundValue(b, f) else { return nil }; ps.append((k, v)) }
            return .object(RegoObject(pairs: ps))
        default: return nil
        }
    }

    func evalTerms(_ items: [Term], _ i: Int, _ acc: [Value], _ f: Frame, _ k: ([Value]) throws -> Bool) throws -> Bool {
        if i == items.count { return try resumeValues(k, acc) }
        return try evalTerm(items[i], f) { v in
            var a = acc
            a.append(v)
            return try self.evalTerms(items, i + 1, a, f, k)
        }
    }

    func evalTemplate(_ parts: [TemplatePart], _ i: Int, _ acc: String, _ f: Frame, _ k: VCont) throws -> Bool {
        if i == parts.count { return try resumeWith(k, .string(acc)) }
        switch parts[i] {
        case .text(let s): return try evalTemplate(parts, i + 1, acc + s, f, k)
        case .term(let t):
            var values: [Value] = []
            _ = try evalTerm(t, f) { v in values.append(v); return false }
            let text: String
            if values.isEmpty { text = "<undefined>" }
            else if values.count > 1 { throw RegoError(code: .evalConflict, message: "template expression produced multiple outputs", location: t.loc) }
            else if case .string(let s) = values[0] { text = s }
            else { text = values[0].description }
            return try evalTemplate(parts, i + 1, acc + text, f, k)
        }
    }

    func evalPrint(_ args: [Term], _ f: Frame, _ loc: Location, _ k: VCont) throws -> Bool {
        var parts: [String] = []
        for a in args {
            var vals: [Value] = []
            _ = try evalTerm(a, f) { v in vals.append(v); return false }
            if vals.isEmpty { parts.append("<undefined>") }
            else { parts.append(vals.map { if case .string(let s) = $0 { return s }; return $0.description }.joined(separator: ", ")) }
        }
        let line = parts.joined(separator: " ")
        ctx.printed.append(line)
        ctx.printSink?("\(loc.file):\(loc.line): " + line)
        return try resumeWith(k, .true)
    }
}
