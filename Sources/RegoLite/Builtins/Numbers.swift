import Foundation

/// Arithmetic, rounding, `numbers.range`, bit operations; `-`, `&`, `|` on sets.
enum NumberBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        r.add("plus", 2) { _, a in .number(try a.number(0) + a.number(1)) }
        r.add("minus", 2) { _, a in
            if case .set(let x) = a[0] {
                guard case .set(let y) = a[1] else { throw a.typeErr(1, "set") }
                return .set(x.subtracting(y))
            }
            let x = try a.number(0)
            guard case .number(let y) = a[1] else { throw a.typeErr(1, "number") }
            return .number(x - y)
        }
        r.add("mul", 2) { _, a in .number(try a.number(0) * a.number(1)) }
        r.add("div", 2) { _, a in
            let x = try a.number(0), y = try a.number(1)
            if y.isZero { throw BuiltinError.builtin("divide by zero") }
            return .number(x / y)
        }
        r.add("rem", 2) { _, a in
            let x = try a.number(0), y = try a.number(1)
            guard x.isInteger, y.isInteger else { throw BuiltinError.builtin("modulo on floating-point number") }
            if y.isZero { throw BuiltinError.builtin("modulo by zero") }
            if case .int(let i) = x, case .int(let j) = y { return .number(.int(i % j)) }
            let q = (x.decimal / y.decimal)
            let t = Number(q).rounded(.down)
            let tt = q < 0 ? Number(q).rounded(.up) : t
            return .number(x - tt * y)
        }
        r.add("and", 2) { _, a in .set(try a.set(0).intersection(a.set(1))) }
        r.add("or", 2) { _, a in .set(try a.set(0).union(a.set(1))) }
        r.add("abs", 1) { _, a in let n = try a.number(0); return .number(n.isNegative ? n.negated : n) }
        r.add("round", 1) { _, a in
            let n = try a.number(0)
            // Go's math.Round: half away from zero.
            return .number(n.rounded(.plain))
        }
        r.add("ceil", 1) { _, a in .number(try a.number(0).rounded(.up)) }
        r.add("floor", 1) { _, a in .number(try a.number(0).rounded(.down)) }
        r.add("numbers.range", 2) { _, a in
            let x = try rangeInt(a, 0, "numbers.range"), y = try rangeInt(a, 1, "numbers.range")
            if abs(y - x) > 10_000_000 { throw BuiltinError.builtin("numbers.range: range too large") }
            let seq = x <= y ? Array(x...y) : Array((y...x).reversed())
            return .array(seq.map { .int($0) })
        }
        r.add("numbers.range_step", 3) { _, a in
            let x = try rangeInt(a, 0, "numbers.range_step"), y = try rangeInt(a, 1, "numbers.range_step")
            let sn = try a.number(2)
            guard sn.isInteger else { throw BuiltinError.type("operand 3 must be integer number but got floating-point number") }
            let s: Int
            if case .int(let v) = sn, let vi = Int(exactly: v) { s = vi } else { s = sn.isNegative ? -1 : Int.max / 2 }
            if s <= 0 { throw BuiltinError.builtin("numbers.range_step: step must be a positive integer") }
            if abs(y - x) / s > 10_000_000 { throw BuiltinError.builtin("numbers.range_step: range too large") }
            var out: [Value] = []
            if x <= y { var i = x; while i <= y { out.append(.int(i)); i += s } }
            else { var i = x; while i >= y { out.append(.int(i)); i -= s } }
            return .array(out)
        }
        r.add("bits.or", 2) { _, a in .int(try bitInt(a, 0, "bits.or") | bitInt(a, 1, "bits.or")) }
        r.add("bits.and", 2) { _, a in .int(try bitInt(a, 0, "bits.and") & bitInt(a, 1, "bits.and")) }
        r.add("bits.xor", 2) { _, a in .int(try bitInt(a, 0, "bits.xor") ^ bitInt(a, 1, "bits.xor")) }
        r.add("bits.negate", 1) { _, a in .int(~(try bitInt(a, 0, "bits.negate"))) }
        r.add("bits.lsh", 2) { _, a in
            let x = try bitInt(a, 0, "bits.lsh"), s = try bitInt(a, 1, "bits.lsh")
            if s < 0 { throw BuiltinError.type("operand 2 must be an unsigned integer number but got a negative integer") }
            if s >= 62 || (x != 0 && abs(x).leadingZeroBitCount <= s + 1) {
                // exact big result through Decimal
                var d = Decimal(x); for _ in 0..<s { d *= 2 }
                return .number(Number(d))
            }
            return .int(x << s)
        }
        r.add("bits.rsh", 2) { _, a in
            let x = try bitInt(a, 0, "bits.rsh"), s = try bitInt(a, 1, "bits.rsh")
            if s < 0 { throw BuiltinError.type("operand 2 must be an unsigned integer number but got a negative integer") }
            return .int(s >= 63 ? (x < 0 ? -1 : 0) : x >> s)
        }
    }

    static func rangeInt(_ a: [Value], _ i: Int, _ name: String) throws -> Int {
        let n = try a.number(i)
        guard n.isInteger else { throw BuiltinError.type("operand \(i + 1) must be integer number but got floating-point number") }
        guard case .int(let v) = n, let r = Int(exactly: v) else { throw BuiltinError.builtin("number too large") }
        return r
    }
    static func bitInt(_ a: [Value], _ i: Int, _ name: String) throws -> Int {
        let n = try a.number(i)
        guard n.isInteger else { throw BuiltinError.type("operand \(i + 1) must be integer number but got floating-point number") }
        guard case .int(let v) = n, let r = Int(exactly: v) else { throw BuiltinError.builtin("number too large") }
        return r
    }
}
