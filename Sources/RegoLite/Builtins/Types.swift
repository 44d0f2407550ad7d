/// `is_*`, `type_name`, `to_number`.
enum TypeBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        r.add("is_number", 1) { _, a in if case .number = a[0] { return .true }; return .false }
        r.add("is_string", 1) { _, a in if case .string = a[0] { return .true }; return .false }
        r.add("is_boolean", 1) { _, a in if case .bool = a[0] { return .true }; return .false }
        r.add("is_array", 1) { _, a in if case .array = a[0] { return .true }; return .false }
        r.add("is_set", 1) { _, a in if case .set = a[0] { return .true }; return .false }
        r.add("is_object", 1) { _, a in if case .object = a[0] { return .true }; return .false }
        r.add("is_null", 1) { _, a in if case .null = a[0] { return .true }; return .false }
        r.add("type_name", 1) { _, a in .string(a[0].typeName) }
        r.add("to_number", 1) { _, a in
            switch a[0] {
            case .null: return .int(0)
            case .bool(let b): return .int(b ? 1 : 0)
            case .number: return a[0]
            case .string(let s):
                let lower = s.lowercased()
                if lower.contains("inf") || lower.contains("nan") { throw BuiltinError.type("operand 1 must be a valid number string but got \(s)") }
                var t = s
                if t.hasPrefix("+") { t.removeFirst() }
                guard let n = Number(literal: t) ?? parseLoose(t) else { throw BuiltinError.builtin("invalid syntax") }
                return .number(n)
            default: throw a.typeErr(0, "one of {null, boolean, number, string}")
            }
        }
    }
    /// Go's ParseFloat also accepts forms like "1." or ".5" and hex; cover the decimal ones.
    static func parseLoose(_ s: String) -> Number? {
        var t = s
        var neg = false
        if t.hasPrefix("-") { neg = true; t.removeFirst() }
        if t.hasPrefix(".") { t = "0" + t }
        if t.hasSuffix(".") { t += "0" }
        guard let n = Number(literal: t) else { return nil }
        return neg ? n.negated : n
    }
}
