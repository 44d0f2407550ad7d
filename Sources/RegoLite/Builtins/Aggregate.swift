/// `count`, `sum`, `product`, `max`, `min`, `sort`, `all`, `any`.
enum AggregateBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        r.add("count", 1) { _, a in
            switch a[0] {
            case .array(let x): return .int(x.count)
            case .object(let o): return .int(o.count)
            case .set(let s): return .int(s.count)
            case .string(let s): return .int(s.unicodeScalars.count)
            default: throw a.typeErr(0, "one of {array, object, set, string}")
            }
        }
        r.add("sum", 1) { _, a in
            var t = Number.int(0)
            for v in try numbersOf(a) { t = t + v }
            return .number(t)
        }
        r.add("product", 1) { _, a in
            var t = Number.int(1)
            for v in try numbersOf(a) { t = t * v }
            return .number(t)
        }
        r.add("max", 1) { _, a in try a.collection(0).max().map { $0 } }
        r.add("min", 1) { _, a in try a.collection(0).min().map { $0 } }
        r.add("sort", 1) { _, a in .array(try a.collection(0).sorted()) }
        r.add("all", 1) { _, a in .bool(try a.collection(0).allSatisfy { $0 == .true }) }
        r.add("any", 1) { _, a in .bool(try a.collection(0).contains(.true)) }
    }

    static func numbersOf(_ a: [Value]) throws -> [Number] {
        try a.collection(0).map { v in
            guard case .number(let n) = v else { throw BuiltinError.type("operand 1 must be one of {set, array} containing numbers but got \(v.typeName)") }
            return n
        }
    }
}
