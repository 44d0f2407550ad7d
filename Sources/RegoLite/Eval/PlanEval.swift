/// Evaluation of plans (see `Plan.swift`). Each node mirrors what the general evaluator does
/// for the same term or expression, in the same order: same values, same undefined cases, same
/// errors, same conflicts.

// MARK: - Terms

final class ConstPlan: TermPlan, @unchecked Sendable {
    var value: Value { constant }
    init(_ v: Value, _ kind: SegKind) { super.init(segKind: kind, access: .constant, constant: v) }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? { constant }
}

final class LocalPlan: TermPlan, @unchecked Sendable {
    let name: String
    let loc: Location
    init(slot: Int, name: String, loc: Location, segKind: SegKind = .computed) {
        self.name = name; self.loc = loc; super.init(segKind: segKind, access: .local, slot: slot)
    }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        if let v = f.slots[slot] { return v }
        throw unbound()
    }
    func unbound() -> RegoError { RegoError(code: .evalInternal, message: "var \(name) is unbound", location: loc) }
}

final class InputRefPlan: TermPlan, @unchecked Sendable {
    let segs: [TermPlan]
    init(segs: [TermPlan]) { self.segs = segs; super.init(segKind: .computed) }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        switch ev.inputSlot.pointee {
        case .some(let i):
            if segs.isEmpty { return i }
            return try ev.walkPlan(i, segs, f, storage: false)
        case .none: return nil
        }
    }
}

final class LocalRefPlan: TermPlan, @unchecked Sendable {
    let localSlot: Int
    let name: String
    let loc: Location
    let segs: [TermPlan]
    init(slot: Int, name: String, loc: Location, segs: [TermPlan]) {
        localSlot = slot; self.name = name; self.loc = loc; self.segs = segs; super.init(segKind: .computed)
    }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        switch f.slots[localSlot] {
        case .some(let v): return try ev.walkPlan(v, segs, f, storage: false)
        case .none: throw RegoError(code: .evalInternal, message: "var \(name) is unbound", location: loc)
        }
    }
}

final class TermRefPlan: TermPlan, @unchecked Sendable {
    let head: TermPlan
    let segs: [TermPlan]
    init(head: TermPlan, segs: [TermPlan]) { self.head = head; self.segs = segs; super.init(segKind: .computed) }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        guard let v = try head.eval(ev, f) else { return nil }
        return try ev.walkPlan(v, segs, f, storage: false)
    }
}

/// Base data below which no rule lives: the constant prefix, then the remaining segments.
final class BaseDataRefPlan: TermPlan, @unchecked Sendable {
    let base: Value?
    let segs: [TermPlan]
    let original: Term
    init(base: Value?, segs: [TermPlan], original: Term) {
        self.base = base; self.segs = segs; self.original = original; super.init(segKind: .computed)
    }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        if !ev.dataOverrides.isEmpty { return try ev.firstValue(original, f) }
        switch base {
        case .some(let b):
            if segs.isEmpty { return b }
            return try ev.walkPlan(b, segs, f, storage: true)
        case .none: return nil
        }
    }
}

/// Base data at the path of a rule without rules below it: OPA reads the base document.
final class RuleBaseRefPlan: TermPlan, @unchecked Sendable {
    let base: Value
    let segs: [TermPlan]
    let original: Term
    init(base: Value, segs: [TermPlan], original: Term) {
        self.base = base; self.segs = segs; self.original = original; super.init(segKind: .computed)
    }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        if !ev.dataOverrides.isEmpty { return try ev.firstValue(original, f) }
        return try ev.walkPlan(base, segs, f, storage: false)
    }
}

/// The value of the rules at a node (memoised per query), then the remaining segments.
final class RuleRefPlan: TermPlan, @unchecked Sendable {
    unowned(unsafe) let node: RuleNode
    let segs: [TermPlan]
    let original: Term
    init(node: RuleNode, segs: [TermPlan], original: Term) {
        self.node = node; self.segs = segs; self.original = original; super.init(segKind: .computed)
    }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        if !ev.dataOverrides.isEmpty { return try ev.firstValue(original, f) }
        guard let v = try ev.ruleValue(node) else { return nil }
        if segs.isEmpty { return v }
        return try ev.walkPlan(v, segs, f, storage: false)
    }
}

/// A single-valued term the plans do not cover: the general evaluator's first (only) value.
final class GenericTermPlan: TermPlan, @unchecked Sendable {
    let term: Term
    init(_ t: Term) { term = t; super.init(segKind: .computed) }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? { try ev.firstValue(term, f) }
}

final class ArrayPlan: TermPlan, @unchecked Sendable {
    let items: [TermPlan]
    init(_ items: [TermPlan]) { self.items = items; super.init(segKind: .computed) }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        var out: [Value] = []
        out.reserveCapacity(items.count)
        for t in items { guard let v = try t.eval(ev, f) else { return nil }; out.append(v) }
        return .array(out)
    }
}

final class SetPlan: TermPlan, @unchecked Sendable {
    let items: [TermPlan]
    init(_ items: [TermPlan]) { self.items = items; super.init(segKind: .computed) }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        var out: [Value] = []
        out.reserveCapacity(items.count)
        for t in items { guard let v = try t.eval(ev, f) else { return nil }; out.append(v) }
        return .set(RegoSet(out))
    }
}

final class ObjectPlan: TermPlan, @unchecked Sendable {
    let keys: [TermPlan]
    let values: [TermPlan]
    init(keys: [TermPlan], values: [TermPlan]) { self.keys = keys; self.values = values; super.init(segKind: .computed) }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        var ps: [(Value, Value)] = []
        ps.reserveCapacity(keys.count)
        for i in 0..<keys.count {
            guard let k = try keys[i].eval(ev, f), let v = try values[i].eval(ev, f) else { return nil }
            ps.append((k, v))
        }
        return .object(RegoObject(pairs: ps))
    }
}

final class ArrayCompPlan: TermPlan, @unchecked Sendable {
    let head: TermPlan
    let body: [ExprPlan]
    init(head: TermPlan, body: [ExprPlan]) { self.head = head; self.body = body; super.init(segKind: .computed) }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        var out: [Value] = []
        _ = try ev.runBody(body, 0, f) {
            if let v = try self.head.eval(ev, f) { out.append(v) }
            return false
        }
        return .array(out)
    }
}

final class SetCompPlan: TermPlan, @unchecked Sendable {
    let head: TermPlan
    let body: [ExprPlan]
    init(head: TermPlan, body: [ExprPlan]) { self.head = head; self.body = body; super.init(segKind: .computed) }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        var out: [Value] = []
        _ = try ev.runBody(body, 0, f) {
            if let v = try self.head.eval(ev, f) { out.append(v) }
            return false
        }
        return .set(RegoSet(out))
    }
}

final class ObjectCompPlan: TermPlan, @unchecked Sendable {
    let key: TermPlan
    let value: TermPlan
    let body: [ExprPlan]
    let loc: Location
    init(key: TermPlan, value: TermPlan, body: [ExprPlan], loc: Location) {
        self.key = key; self.value = value; self.body = body; self.loc = loc; super.init(segKind: .computed)
    }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        var obj = RegoObject()
        _ = try ev.runBody(body, 0, f) {
            guard let kv = try self.key.eval(ev, f), let vv = try self.value.eval(ev, f) else { return false }
            if let ex = obj[kv], ex != vv {
                throw RegoError(code: .evalConflict, message: "object keys must be unique", location: self.loc)
            }
            obj[kv] = vv
            return false
        }
        return .object(obj)
    }
}

// MARK: calls

/// A builtin call with its arguments evaluated into an array.
class BuiltinCallPlan: TermPlan, @unchecked Sendable {
    let builtin: Builtin
    let args: [TermPlan]
    let loc: Location
    init(_ b: Builtin, _ args: [TermPlan], _ loc: Location) {
        builtin = b; self.args = args; self.loc = loc; super.init(segKind: .computed)
    }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        var vs: [Value] = []
        vs.reserveCapacity(args.count)
        for a in args { guard let v = try a.eval(ev, f) else { return nil }; vs.append(v) }
        return try ev.callBuiltin(builtin, vs, loc)
    }

    /// Builtins with a direct implementation here (no argument array); each answers exactly as
    /// the registered implementation, which still handles every error case.
    enum Op { case equal, neq, lt, lte, gt, gte, member, isString, isArray, isObject, isNumber, isBoolean, isNull, isSet, count, arraySlice }
    static let ops: [String: Op] = [
        "equal": .equal, "neq": .neq, "lt": .lt, "lte": .lte, "gt": .gt, "gte": .gte, "internal.member_2": .member,
        "is_string": .isString, "is_array": .isArray, "is_object": .isObject, "is_number": .isNumber,
        "is_boolean": .isBoolean, "is_null": .isNull, "is_set": .isSet, "count": .count, "array.slice": .arraySlice,
    ]

    static func make(_ b: Builtin, _ args: [TermPlan], _ loc: Location) -> TermPlan {
        // Only the standard implementation is known here: a registry may replace a builtin.
        guard let op = ops[b.name], b.isStandard else {
            return BuiltinCallPlan(b, args, loc)
        }
        if args.count == 1 { return Builtin1Plan(op, b, args, loc) }
        if args.count == 2 {
            if op == .member, let lit = args[1] as? ArrayPlan { return MemberLiteralPlan(b, args, lit.items, loc) }
            if op == .member, let lit = args[1] as? SetPlan { return MemberLiteralPlan(b, args, lit.items, loc) }
            return Builtin2Plan(op, b, args, loc)
        }
        if args.count == 3 { return Builtin3Plan(op, b, args, loc) }
        return BuiltinCallPlan(b, args, loc)
    }
}

final class Builtin1Plan: BuiltinCallPlan, @unchecked Sendable {
    let op: Op
    let a: TermPlan
    init(_ op: Op, _ b: Builtin, _ args: [TermPlan], _ loc: Location) { self.op = op; a = args[0]; super.init(b, args, loc) }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        try ev.withValue(a, f) { x in try apply(ev, x) }
    }
    @inline(__always) func apply(_ ev: Evaluator, _ x: Value) throws -> Value? {
        if !ev.functionOverrides.isEmpty { return try ev.callBuiltin(builtin, [x], loc) }
        try ev.step()
        switch op {
        case .isString: if case .string = x { return .true }; return .false
        case .isArray: if case .array = x { return .true }; return .false
        case .isObject: if case .object = x { return .true }; return .false
        case .isNumber: if case .number = x { return .true }; return .false
        case .isBoolean: if case .bool = x { return .true }; return .false
        case .isNull: if case .null = x { return .true }; return .false
        case .isSet: if case .set = x { return .true }; return .false
        case .count:
            switch x {
            case .array(let v): return .int(v.count)
            case .object(let o): return .int(o.count)
            case .set(let s): return .int(s.count)
            default: return try ev.callBuiltinImpl(builtin, [x], loc)
            }
        default: return try ev.callBuiltinImpl(builtin, [x], loc)
        }
    }
}

final class Builtin2Plan: BuiltinCallPlan, @unchecked Sendable {
    let op: Op
    let a: TermPlan
    let b: TermPlan
    init(_ op: Op, _ bi: Builtin, _ args: [TermPlan], _ loc: Location) { self.op = op; a = args[0]; b = args[1]; super.init(bi, args, loc) }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        try ev.withValue(a, f) { x in try ev.withValue(b, f) { y in try apply(ev, x, y) } }
    }
    @inline(__always) func apply(_ ev: Evaluator, _ x: Value, _ y: Value) throws -> Value? {
        if !ev.functionOverrides.isEmpty { return try ev.callBuiltin(builtin, [x, y], loc) }
        try ev.step()
        switch op {
        case .equal: return .bool(x == y)
        case .neq: return .bool(x != y)
        case .lt: return .bool(Value.compare(x, y) < 0)
        case .lte: return .bool(Value.compare(x, y) <= 0)
        case .gt: return .bool(Value.compare(x, y) > 0)
        case .gte: return .bool(Value.compare(x, y) >= 0)
        case .member:
            switch y {
            case .array(let xs): return .bool(xs.contains(x))
            case .set(let s): return .bool(s.contains(x))
            case .object(let o): return .bool(o.values.contains(x))
            default: return .false
            }
        default: return try ev.callBuiltinImpl(builtin, [x, y], loc)
        }
    }
}

final class Builtin3Plan: BuiltinCallPlan, @unchecked Sendable {
    let op: Op
    let a: TermPlan
    let b: TermPlan
    let c: TermPlan
    init(_ op: Op, _ bi: Builtin, _ args: [TermPlan], _ loc: Location) {
        self.op = op; a = args[0]; b = args[1]; c = args[2]; super.init(bi, args, loc)
    }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        guard let x = try a.eval(ev, f), let y = try b.eval(ev, f), let z = try c.eval(ev, f) else { return nil }
        if !ev.functionOverrides.isEmpty { return try ev.callBuiltin(builtin, [x, y, z], loc) }
        try ev.step()
        if op == .arraySlice, case .array(let xs) = x, case .number(.int(let s64)) = y, case .number(.int(let e64)) = z {
            var s = Int(s64), e = Int(e64)
            if s < 0 { s = 0 }
            if e > xs.count { e = xs.count }
            if s >= e { return .array([]) }
            if s == 0 && e == xs.count { return x }
            return .array(Array(xs[s..<e]))
        }
        return try ev.callBuiltinImpl(builtin, [x, y, z], loc)
    }
}

/// `x in [a, b]` / `x in {a, b}` with a literal collection: every element is evaluated as the
/// literal would be (in order, undefined if one is), then compared, without building it.
final class MemberLiteralPlan: BuiltinCallPlan, @unchecked Sendable {
    let a: TermPlan
    let collection: TermPlan
    let items: [TermPlan]
    init(_ bi: Builtin, _ args: [TermPlan], _ items: [TermPlan], _ loc: Location) {
        a = args[0]; collection = args[1]; self.items = items; super.init(bi, args, loc)
    }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        if !ev.functionOverrides.isEmpty { return try super.eval(ev, f) }
        return try ev.withValue(a, f) { x in
            var found = false
            for t in items {
                guard let eq = try ev.withValue(t, f, { v in v == x }) else { return nil }
                if eq { found = true }
            }
            try ev.step()
            return .bool(found)
        }
    }
}

final class FunctionCallPlan: TermPlan, @unchecked Sendable {
    unowned(unsafe) let node: RuleNode?
    let target: CallTarget
    let args: [TermPlan]
    let loc: Location
    /// The function's only definition when its arguments are distinct plain variables: the
    /// arguments are evaluated straight into its frame.
    unowned(unsafe) let direct: CompiledRule?
    let directSlots: [Int]
    unowned(unsafe) let defaultRule: CompiledRule?
    init(node: RuleNode?, target: CallTarget, args: [TermPlan], loc: Location) {
        self.node = node; self.target = target; self.args = args; self.loc = loc
        var direct: CompiledRule?
        var slots: [Int] = []
        if let defs = node?.functions.filter({ !$0.isDefault }), defs.count == 1, defs[0].args.count == args.count {
            for a in defs[0].args { if case .local(let s, _) = a.kind { slots.append(s) } }
            if slots.count == args.count, Set(slots).count == slots.count { direct = defs[0] } else { slots = [] }
        }
        self.direct = direct
        self.directSlots = slots
        self.defaultRule = node?.functions.first(where: { $0.isDefault && $0.value != nil })
        super.init(segKind: .computed)
    }
    override func eval(_ ev: Evaluator, _ f: Frame) throws -> Value? {
        if let fn = direct, ev.functionOverrides.isEmpty {
            let size = fn.frameSize
            let (g, mark) = ev.pushFrame(size)
            defer { ev.popFrame(g, size, mark) }
            for i in 0..<args.count {
                guard let v = try args[i].eval(ev, f) else { return nil }
                g.slots[directSlots[i]] = v
            }
            try ev.step()
            var result: Value?
            let loc = self.loc
            try ev.runBranches(fn.plan!, g) { v in
                if let prev = result, prev != v {
                    throw RegoError(code: .evalConflict, message: "functions must not produce multiple outputs for same inputs", location: loc)
                }
                result = v
            }
            if result == nil, let d = defaultRule { result = try ev.defaultValue(d) }
            return result
        }
        var vs: [Value] = []
        vs.reserveCapacity(args.count)
        for a in args { guard let v = try a.eval(ev, f) else { return nil }; vs.append(v) }
        if !ev.functionOverrides.isEmpty { return try ev.call(target, vs, loc) }
        try ev.step()
        guard let node else { return nil }
        return try ev.callFunction(node, vs, loc)
    }
}

// MARK: - Expressions

/// A term as a test: holds when defined and not `false`.
final class TestPlan: ExprPlan, @unchecked Sendable {
    let term: TermPlan
    init(_ t: TermPlan) { term = t; super.init(deterministic: true) }
    override func test(_ ev: Evaluator, _ f: Frame) throws -> Bool {
        guard let v = try term.eval(ev, f) else { return false }
        if case .bool(false) = v { return false }
        return true
    }
}

/// `x := t` / `x = t`: binds `x` when unbound, else compares.
final class AssignPlan: ExprPlan, @unchecked Sendable {
    let slot: Int
    let value: TermPlan
    init(slot: Int, value: TermPlan) { self.slot = slot; self.value = value; super.init(deterministic: true) }
    override func test(_ ev: Evaluator, _ f: Frame) throws -> Bool {
        guard let v = try value.eval(ev, f) else { return false }
        let p = f.slots + slot
        if let cur = p.pointee { return cur == v }
        ev.bind(p, v)
        return true
    }
}

final class UnifyPlan: ExprPlan, @unchecked Sendable {
    let value: TermPlan
    let pattern: PatternPlan
    init(value: TermPlan, pattern: PatternPlan) { self.value = value; self.pattern = pattern; super.init(deterministic: true) }
    override func test(_ ev: Evaluator, _ f: Frame) throws -> Bool {
        guard let v = try value.eval(ev, f) else { return false }
        return try ev.unifyPattern(pattern, v, f)
    }
}

final class NotPlan: ExprPlan, @unchecked Sendable {
    let inner: ExprPlan
    init(_ inner: ExprPlan) { self.inner = inner; super.init(deterministic: true) }
    override func test(_ ev: Evaluator, _ f: Frame) throws -> Bool {
        let mark = ev.trailTop
        defer { ev.undo(mark) }
        if inner.deterministic { return try !inner.test(ev, f) }
        return try !inner.iter(ev, f) { true }
    }
}

/// `some x, y` (declarations only).
final class NopPlan: ExprPlan, @unchecked Sendable {
    init() { super.init(deterministic: true) }
    override func test(_ ev: Evaluator, _ f: Frame) throws -> Bool { true }
}

/// `some v in xs` / `some k, v in xs`.
final class SomeInPlan: ExprPlan, @unchecked Sendable {
    let key: PatternPlan?
    let value: PatternPlan
    let collection: TermPlan
    init(key: PatternPlan?, value: PatternPlan, collection: TermPlan) {
        self.key = key; self.value = value; self.collection = collection; super.init(deterministic: false)
    }
    override func iter(_ ev: Evaluator, _ f: Frame, _ k: Cont) throws -> Bool {
        try ev.step()
        guard let c = try collection.eval(ev, f) else { return false }
        switch c {
        case .array(let a):
            for i in 0..<a.count {
                try ev.step()
                if try ev.match(key, value, .int(i), a[i], f, k) { return true }
            }
        case .object(let o):
            for i in 0..<o.count {
                try ev.step()
                if try ev.match(key, value, o.keys[i], o.values[i], f, k) { return true }
            }
        case .set(let s):
            for v in s.elements {
                try ev.step()
                if try ev.match(key, value, v, v, f, k) { return true }
            }
        default: break
        }
        return false
    }
}

/// `every v in xs { ... }` / `every k, v in xs { ... }`: binds nothing outside.
final class EveryPlan: ExprPlan, @unchecked Sendable {
    let key: PatternPlan?
    let value: PatternPlan
    let domain: TermPlan
    let body: [ExprPlan]
    init(key: PatternPlan?, value: PatternPlan, domain: TermPlan, body: [ExprPlan]) {
        self.key = key; self.value = value; self.domain = domain; self.body = body; super.init(deterministic: true)
    }
    override func test(_ ev: Evaluator, _ f: Frame) throws -> Bool {
        guard let d = try domain.eval(ev, f) else { return false }
        switch d {
        case .array(let a):
            for i in 0..<a.count {
                try ev.step()
                if try !holds(ev, .int(i), a[i], f) { return false }
            }
        case .object(let o):
            for i in 0..<o.count {
                try ev.step()
                if try !holds(ev, o.keys[i], o.values[i], f) { return false }
            }
        case .set(let s):
            for v in s.elements {
                try ev.step()
                if try !holds(ev, v, v, f) { return false }
            }
        default: return false
        }
        return true
    }

    @inline(__always) func holds(_ ev: Evaluator, _ kk: Value, _ vv: Value, _ f: Frame) throws -> Bool {
        let mark = ev.trailTop
        defer { ev.undo(mark) }
        guard try ev.unifyPattern(value, vv, f) else { return false }
        if let key { guard try ev.unifyPattern(key, kk, f) else { return false } }
        return try ev.runBody(body, 0, f) { true }
    }
}

/// An expression the plans do not cover (`with`, `print`, enumerating refs...).
final class GenericExprPlan: ExprPlan, @unchecked Sendable {
    let expr: Expr
    init(_ e: Expr) { expr = e; super.init(deterministic: false) }
    override func iter(_ ev: Evaluator, _ f: Frame, _ k: Cont) throws -> Bool { try ev.evalExpr(expr, f, k) }
}

// MARK: - Evaluator

extension Evaluator {
    /// Runs `body` from expression `start`; `k` once per solution (stop when it returns true).
    /// Deterministic expressions run in a loop; bindings are undone when this returns.
    func runBody(_ body: [ExprPlan], _ start: Int, _ f: Frame, _ k: Cont) throws -> Bool {
        let mark = trailTop
        defer { undo(mark) }
        var i = start
        let n = body.count
        while i < n {
            // Plans are owned by the policy, which outlives every evaluation: used without a retain.
            let e = Unmanaged.passUnretained(body[i])
            if e._withUnsafeGuaranteedRef({ $0.deterministic }) {
                try step()
                if try !e._withUnsafeGuaranteedRef({ try $0.test(self, f) }) { return false }
                i += 1
            } else {
                let next = i + 1
                if next == n { return try e._withUnsafeGuaranteedRef { try $0.iter(self, f, k) } }
                return try e._withUnsafeGuaranteedRef { try $0.iter(self, f) { try self.runBody(body, next, f, k) } }
            }
        }
        return try k()
    }

    /// One expression, then `k` per solution (query expressions).
    func runOne(_ e: ExprPlan, _ f: Frame, _ k: Cont) throws -> Bool {
        let mark = trailTop
        defer { undo(mark) }
        if e.deterministic {
            try step()
            guard try e.test(self, f) else { return false }
            return try k()
        }
        return try e.iter(self, f, k)
    }

    /// `some k, v in ...` element: unify the patterns, continue, undo.
    @inline(__always) func match(_ key: PatternPlan?, _ value: PatternPlan, _ kk: Value, _ vv: consuming Value, _ f: Frame, _ k: Cont) throws -> Bool {
        let mark = trailTop
        defer { undo(mark) }
        if case .local(let s) = value, f.slots[s] == nil {
            bind(f.slots + s, vv)
        } else {
            guard try unifyPattern(value, vv, f) else { return false }
        }
        if let key { guard try unifyPattern(key, kk, f) else { return false } }
        return try k()
    }

    /// Calls `body` with the plan's value, borrowed where it is stored (a slot, a constant);
    /// nil when the term is undefined.
    @inline(__always) func withValue<R>(_ p: TermPlan, _ f: Frame, _ body: (Value) throws -> R?) throws -> R? {
        switch p.access {
        case .constant:
            return try body(p.constant)
        case .local:
            switch f.slots[p.slot] {
            case .some(let v): return try body(v)
            case .none: throw unsafeDowncast(p, to: LocalPlan.self).unbound()
            }
        case .computed:
            guard let v = try p.eval(self, f) else { return nil }
            return try body(v)
        }
    }

    /// Unifies a pattern with a value (as `unifyValue`). Bindings go on the trail; on failure
    /// some may have been made: the caller undoes the trail.
    func unifyPattern(_ p: PatternPlan, _ v: Value, _ f: Frame) throws -> Bool {
        switch p {
        case .local(let s):
            let slot = f.slots + s
            if let cur = slot.pointee { return cur == v }
            bind(slot, v)
            return true
        case .value(let t):
            guard let tv = try t.eval(self, f) else { return false }
            return tv == v
        case .array(let items):
            guard case .array(let vs) = v, vs.count == items.count else { return false }
            for i in 0..<items.count { guard try unifyPattern(items[i], vs[i], f) else { return false } }
            return true
        case .object(let pairs):
            guard case .object(let o) = v, o.count == pairs.count else { return false }
            for (kp, vp) in pairs {
                guard let kv = try kp.eval(self, f), let vv = o[kv] else { return false }
                guard try unifyPattern(vp, vv, f) else { return false }
            }
            return true
        }
    }

    /// Walks a value along single-valued segments (as `walk`, without iteration). `start` is
    /// borrowed: only the values found are copied (not inlined, so callers can pass a value
    /// read in place from a slot).
    @inline(never) func walkPlan(_ start: Value, _ segs: [TermPlan], _ f: Frame, storage: Bool) throws -> Value? {
        var storage = storage
        // Plans are owned by the policy, which outlives every evaluation: used without a retain.
        guard var v = try Unmanaged.passUnretained(segs[0])._withUnsafeGuaranteedRef({ try child(start, $0, f, &storage) }) else { return nil }
        var i = 1
        while i < segs.count {
            guard let c = try Unmanaged.passUnretained(segs[i])._withUnsafeGuaranteedRef({ try child(v, $0, f, &storage) }) else { return nil }
            v = c
            i += 1
        }
        return v
    }

    /// One ref step: the key is read in place when it is a constant or a variable.
    @inline(__always) func child(_ v: Value, _ s: TermPlan, _ f: Frame, _ storage: inout Bool) throws -> Value? {
        if s.segKind == .computed {
            storage = false
            return try withValue(s, f) { key in v[key] }
        }
        let st = storage
        return try withValue(s, f) { key in st ? Evaluator.storageGet(v, key) : v[key] }
    }

    /// A key lookup in base data: integer keys also find their string form (OPA's store).
    static func storageGet(_ v: Value, _ key: Value) -> Value? {
        if let c = v[key] { return c }
        if case .object = v, case .number(.int(let n)) = key { return v[.string(String(n))] }
        return nil
    }

    /// The first value of a term through the general evaluator (for single-valued terms).
    func firstValue(_ t: Term, _ f: Frame) throws -> Value? {
        var out: Value?
        _ = try evalTerm(t, f) { v in out = v; return true }
        return out
    }

    /// A builtin call (`call` for builtins): replacements from `with`, step, error mapping.
    func callBuiltin(_ b: Builtin, _ args: [Value], _ loc: Location) throws -> Value? {
        if !functionOverrides.isEmpty { return try call(.builtin(b), args, loc) }
        try step()
        return try callBuiltinImpl(b, args, loc)
    }

    func callBuiltinImpl(_ b: Builtin, _ args: [Value], _ loc: Location) throws -> Value? {
        do {
            return try b.impl(ctx, args)
        } catch BuiltinError.type(let msg) {
            if strict { throw RegoError(code: .evalType, message: "\(b.name): \(msg)", location: loc) }
            return nil
        } catch var e as RegoError where e.code == .unsupported {
            e.location = loc
            throw e
        } catch BuiltinError.builtin(let msg) {
            if strict { throw RegoError(code: .evalBuiltin, message: "\(b.name): \(msg)", location: loc) }
            return nil
        }
    }

    /// A user function: every definition of matching arity runs; they must agree.
    func callFunction(_ node: RuleNode, _ args: [Value], _ loc: Location) throws -> Value? {
        var result: Value?
        for r in node.functions where !r.isDefault {
            guard r.args.count == args.count else { continue }
            try evalRuleBodies(r, args: args) { v in
                if let prev = result, prev != v {
                    throw RegoError(code: .evalConflict, message: "functions must not produce multiple outputs for same inputs", location: loc)
                }
                result = v
            }
        }
        if result == nil, let d = node.functions.first(where: { $0.isDefault }), d.value != nil { result = try defaultValue(d) }
        return result
    }
}
