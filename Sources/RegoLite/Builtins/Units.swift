import Foundation

/// `units.parse` (SI and binary suffixes, `m` for milli) and `units.parse_bytes`.
enum UnitsBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        r.add("units.parse", 1) { _, a in
            let (num, unit) = try split(try a.string(0), "units.parse", bytes: false)
            let mult: Decimal
            if unit == "m" { mult = Decimal(string: "0.001")! }
            else if unit.isEmpty { mult = 1 }
            else if let m = multiplier(unit.lowercased()) { mult = m }
            else { throw BuiltinError.builtin("units.parse: unknown unit \(unit)") }
            return .number(Number(num * mult))
        }
        r.add("units.parse_bytes", 1) { _, a in
            let (num, unit) = try split(try a.string(0), "units.parse_bytes", bytes: true)
            var u = unit.lowercased()
            if u.hasSuffix("b") { u.removeLast() }
            let mult: Decimal
            if u.isEmpty { mult = 1 } else if let m = multiplier(u) { mult = m } else { throw BuiltinError.builtin("units.parse_bytes: unknown unit \(unit)") }
            return .number(Number(num * mult).rounded(.down))
        }
    }

    static func multiplier(_ u: String) -> Decimal? {
        let si: [String: Int] = ["k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6]
        if u.count == 1, let e = si[u] { return pow(Decimal(1000), e) }
        if u.count == 2, u.hasSuffix("i"), let e = si[String(u.first!)] { return pow(Decimal(1024), e) }
        return nil
    }

    static func split(_ raw: String, _ name: String, bytes: Bool) throws -> (Decimal, String) {
        let s = raw.replacingOccurrences(of: "\"", with: "")
        if s.contains(" ") { throw BuiltinError.builtin("\(name): spaces not allowed in resource strings") }
        let u = Array(s.utf8)
        var i = 0
        while i < u.count, (u[i] >= 48 && u[i] <= 57) || u[i] == 46 || (i == 0 && (u[i] == 45 || u[i] == 43)) { i += 1 }
        // exponent only when followed by digits
        if i < u.count, u[i] == 101 || u[i] == 69 {
            var j = i + 1
            if j < u.count, u[j] == 45 || u[j] == 43 { j += 1 }
            if j < u.count, u[j] >= 48 && u[j] <= 57 {
                while j < u.count, u[j] >= 48 && u[j] <= 57 { j += 1 }
                i = j
            }
        }
        let numStr = String(decoding: u[0..<i], as: UTF8.self)
        let unit = String(decoding: u[i...], as: UTF8.self)
        let what = bytes ? "byte amount" : "amount"
        if numStr.isEmpty || numStr == "-" || numStr == "+" { throw BuiltinError.builtin("\(name): no \(what) provided") }
        var t = numStr
        if t.hasPrefix("+") { t.removeFirst() }
        var neg = false
        if t.hasPrefix("-") { neg = true; t.removeFirst() }
        if t.hasPrefix(".") { t = "0" + t }
        if t.hasSuffix(".") { t += "0" }
        guard let n = Number(literal: t) else { throw BuiltinError.builtin("\(name): could not parse \(what) to a number") }
        return (neg ? -n.decimal : n.decimal, unit)
    }
}
