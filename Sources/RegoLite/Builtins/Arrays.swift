/// `array.concat`, `array.slice`, `array.reverse`, `array.flatten`.
enum ArrayBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        r.add("array.concat", 2) { _, a in .array(try a.array(0) + a.array(1)) }
        r.add("array.reverse", 1) { _, a in .array(try a.array(0).reversed()) }
        r.add("array.slice", 3) { _, a in
            let x = try a.array(0)
            var s = try a.int(1), e = try a.int(2)
            if s < 0 { s = 0 }
            if e > x.count { e = x.count }
            if s >= e { return .array([]) }
            return .array(Array(x[s..<e]))
        }
        r.add("array.flatten", 1) { _, a in
            func flat(_ v: [Value]) -> [Value] { v.flatMap { if case .array(let i) = $0 { return i }; return [$0] } }
            return .array(flat(try a.array(0)))
        }
    }
}
