/// `==`, `!=`, `<`, `<=`, `>`, `>=` over OPA's total order, and membership (`in`).
enum ComparisonBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        r.add("equal", 2) { _, a in .bool(a[0] == a[1]) }
        r.add("neq", 2) { _, a in .bool(a[0] != a[1]) }
        r.add("lt", 2) { _, a in .bool(Value.compare(a[0], a[1]) < 0) }
        r.add("lte", 2) { _, a in .bool(Value.compare(a[0], a[1]) <= 0) }
        r.add("gt", 2) { _, a in .bool(Value.compare(a[0], a[1]) > 0) }
        r.add("gte", 2) { _, a in .bool(Value.compare(a[0], a[1]) >= 0) }
        r.add("internal.member_2", 2) { _, a in
            switch a[1] {
            case .array(let xs): return .bool(xs.contains(a[0]))
            case .set(let s): return .bool(s.contains(a[0]))
            case .object(let o): return .bool(o.values.contains(a[0]))
            default: return .false
            }
        }
        r.add("internal.member_3", 3) { _, a in
            switch a[2] {
            case .array(let xs):
                guard case .number(.int(let i)) = a[0], i >= 0, i < Int64(xs.count) else { return .false }
                return .bool(xs[Int(i)] == a[1])
            case .object(let o):
                guard let v = o[a[0]] else { return .false }
                return .bool(v == a[1])
            default: return .false
            }
        }
    }
}
