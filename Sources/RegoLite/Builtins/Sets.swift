/// `intersection`, `union` over sets of sets.
enum SetBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        r.add("intersection", 1) { _, a in
            let s = try a.set(0)
            var out: RegoSet?
            for e in s.elements {
                guard case .set(let x) = e else { throw BuiltinError.type("operand 1 must be set of sets but got set containing \(e.typeName)") }
                out = out.map { $0.intersection(x) } ?? x
            }
            return .set(out ?? RegoSet())
        }
        r.add("union", 1) { _, a in
            let s = try a.set(0)
            var out = RegoSet()
            for e in s.elements {
                guard case .set(let x) = e else { throw BuiltinError.type("operand 1 must be set of sets but got set containing \(e.typeName)") }
                out = out.union(x)
            }
            return .set(out)
        }
    }
}
