import Foundation

// MARK: - How to add builtins
//
// Each family lives in its own file (`Strings.swift`, `Regex.swift`, ...) as an enum with
//
//     static func register(into r: inout BuiltinRegistry) {
//         r.add("upper", 1) { ctx, a in .string(try a.string(0).uppercased()) }
//     }
//
// and one line in `BuiltinRegistry.standard`. An implementation receives the per-query
// `BuiltinContext` (fixed `time.now_ns`, caches, print sink) and the evaluated arguments;
// it returns a `Value`, or `nil` for "undefined". It throws `BuiltinError.type` for a wrong
// operand type (OPA's `eval_type_error`) and `BuiltinError.builtin` for other failures
// (`eval_builtin_error`). In non-strict mode the evaluator turns both into "undefined".
// Argument helpers on `[Value]` (`a.string(0)`, `a.number(1)`, `a.int(0)`...) produce OPA's
// messages ("operand 1 must be string but got number").
// Host functions (e.g. crypto from another module) use the same `add` on an engine's registry.

/// A builtin function: name, arity and implementation.
public struct Builtin: Sendable {
    public typealias Implementation = @Sendable (BuiltinContext, [Value]) throws -> Value?
    public let name: String
    /// Number of arguments; `-1` for variadic (`print`).
    public let arity: Int
    public let impl: Implementation
    /// Whether the result depends on more than the arguments (never constant-folded).
    public let nondeterministic: Bool
    /// For relations (`walk`): every output for the arguments; the evaluator backtracks over them.
    public var relation: (@Sendable (BuiltinContext, [Value]) throws -> [Value])? = nil
    /// Registered by `BuiltinRegistry.standard` (not replaced by a host): the evaluator may
    /// answer it directly (see `BuiltinCallPlan.make`).
    var isStandard = false
}

public enum BuiltinError: Error, Sendable {
    case type(String)
    case builtin(String)
}

/// Per-query state shared by builtins.
public final class BuiltinContext: @unchecked Sendable {
    /// `time.now_ns`, fixed once per query.
    public let nowNs: Int64
    public var printed: [String] = []
    var regexCache: [String: NSRegularExpression] = [:]
    let precompiledRegex: [String: NSRegularExpression]
    public var printSink: (@Sendable (String) -> Void)?
    /// Per-query memo for builtins whose answer must stay stable within a query (`uuid.rfc4122`).
    var memo: [String: Value] = [:]
    init(nowNs: Int64, precompiledRegex: [String: NSRegularExpression]) {
        self.nowNs = nowNs; self.precompiledRegex = precompiledRegex
    }

    func regex(_ pattern: String) throws -> NSRegularExpression {
        if let r = precompiledRegex[pattern] ?? regexCache[pattern] { return r }
        let r = try RegexSupport.compile(pattern.isEmpty ? "(?:)" : pattern)
        if regexCache.count > 1000 { regexCache.removeAll() }
        regexCache[pattern] = r
        return r
    }
}

/// The table of builtins by name.
public struct BuiltinRegistry: Sendable {
    public private(set) var byName: [String: Builtin] = [:]
    public init() {}

    public mutating func add(_ name: String, _ arity: Int, nondeterministic: Bool = false, _ impl: @escaping Builtin.Implementation) {
        byName[name] = Builtin(name: name, arity: arity, impl: impl, nondeterministic: nondeterministic)
    }
    public func lookup(_ name: String) -> Builtin? { byName[name] }

    /// A builtin with several outputs for the same arguments (OPA's relations, e.g. `walk`).
    /// Called as a function it yields the first output.
    mutating func addRelation(_ name: String, _ arity: Int, _ impl: @escaping @Sendable (BuiltinContext, [Value]) throws -> [Value]) {
        var b = Builtin(name: name, arity: arity, impl: { ctx, a in try impl(ctx, a).first }, nondeterministic: false)
        b.relation = impl
        byName[name] = b
    }

    /// Every family shipped with RegoLite.
    public static let standard: BuiltinRegistry = {
        var r = BuiltinRegistry()
        ComparisonBuiltins.register(into: &r)
        NumberBuiltins.register(into: &r)
        AggregateBuiltins.register(into: &r)
        ArrayBuiltins.register(into: &r)
        SetBuiltins.register(into: &r)
        ObjectBuiltins.register(into: &r)
        StringBuiltins.register(into: &r)
        TypeBuiltins.register(into: &r)
        EncodingBuiltins.register(into: &r)
        RegexBuiltins.register(into: &r)
        GlobBuiltins.register(into: &r)
        TimeBuiltins.register(into: &r)
        NetBuiltins.register(into: &r)
        SemverBuiltins.register(into: &r)
        UnitsBuiltins.register(into: &r)
        UUIDBuiltins.register(into: &r)
        JWTBuiltins.register(into: &r)
        GraphBuiltins.register(into: &r)
        JSONPatchBuiltins.register(into: &r)
        CryptoBuiltins.register(into: &r)
        for name in r.byName.keys { r.byName[name]!.isStandard = true }
        return r
    }()
}

// MARK: - Argument helpers (1-based operand numbers in messages, as OPA)
extension Array where Element == Value {
    func typeErr(_ i: Int, _ want: String) -> BuiltinError {
        .type("operand \(i + 1) must be \(want) but got \(self[i].typeName)")
    }
    func string(_ i: Int) throws -> String {
        if case .string(let s) = self[i] { return s }; throw typeErr(i, "string")
    }
    func number(_ i: Int) throws -> Number {
        if case .number(let n) = self[i] { return n }; throw typeErr(i, "number")
    }
    func int(_ i: Int) throws -> Int {
        let n = try number(i)
        guard n.isInteger else { throw BuiltinError.type("operand \(i + 1) must be integer number but got floating-point number") }
        guard case .int(let v) = n, let r = Int(exactly: v) else { throw BuiltinError.builtin("integer out of range") }
        return r
    }
    func array(_ i: Int) throws -> [Value] {
        if case .array(let a) = self[i] { return a }; throw typeErr(i, "array")
    }
    func object(_ i: Int) throws -> RegoObject {
        if case .object(let o) = self[i] { return o }; throw typeErr(i, "object")
    }
    func set(_ i: Int) throws -> RegoSet {
        if case .set(let s) = self[i] { return s }; throw typeErr(i, "set")
    }
    func bool(_ i: Int) throws -> Bool {
        if case .bool(let b) = self[i] { return b }; throw typeErr(i, "boolean")
    }
    /// Elements of an array or set.
    func collection(_ i: Int) throws -> [Value] {
        switch self[i] {
        case .array(let a): return a
        case .set(let s): return s.elements
        default: throw typeErr(i, "one of {array, set}")
        }
    }
}
