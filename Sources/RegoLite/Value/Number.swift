import Foundation

/// An exact Rego number: a fast 64-bit integer path, and Foundation `Decimal` for everything
/// else (integers beyond 64 bits, decimals such as `0.1`). Always normalised: a value that is an
/// integer fitting in `Int64` is stored as `.int`, so equality and hashing are structural.
public enum Number: Sendable, Hashable, Comparable, CustomStringConvertible {
    case int(Int64)
    case dec(Decimal)

    public init(_ i: Int) { self = .int(Int64(i)) }

    public init(_ d: Decimal) {
        if d.isNaN { self = .dec(d); return }
        var d = d
        var rounded = Decimal()
        NSDecimalRound(&rounded, &d, 0, .plain)
        if rounded == d, let i = Number.int64(exactly: d) { self = .int(i) } else { self = .dec(d) }
    }

    public init?(double: Double) {
        guard double.isFinite else { return nil }
        if double == double.rounded(), abs(double) < 9.0e15 { self = .int(Int64(double)); return }
        guard let d = Decimal(string: "\(double)") else { return nil }
        self.init(d)
    }

    /// Parses a JSON/Rego number literal exactly.
    public init?(literal s: String) {
        if let i = Int64(s) { self = .int(i); return }
        guard let first = s.utf8.first, first == UInt8(ascii: "-") || (first >= 48 && first <= 57) else { return nil }
        // Decimal(string:) accepts trailing garbage; validate the JSON number grammar first.
        guard Number.isJSONNumber(s) else { return nil }
        guard let d = Decimal(string: s, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
        if d.isNaN { return nil }
        self.init(d)
    }

    static func isJSONNumber(_ s: String) -> Bool {
        var it = Array(s.utf8)[...]
        if it.first == UInt8(ascii: "-") { it = it.dropFirst() }
        var digits = 0
        while let c = it.first, c >= 48 && c <= 57 { digits += 1; it = it.dropFirst() }
        if digits == 0 { return false }
        if it.first == UInt8(ascii: ".") {
            it = it.dropFirst(); var f = 0
            while let c = it.first, c >= 48 && c <= 57 { f += 1; it = it.dropFirst() }
            if f == 0 { return false }
        }
        if let c = it.first, c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
            it = it.dropFirst()
            if let c = it.first, c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { it = it.dropFirst() }
            var e = 0
            while let c = it.first, c >= 48 && c <= 57 { e += 1; it = it.dropFirst() }
            if e == 0 { return false }
        }
        return it.isEmpty
    }

    static func int64(exactly d: Decimal) -> Int64? {
        if d > Decimal(Int64.max) || d < Decimal(Int64.min) { return nil }
        return Int64(exactly: NSDecimalNumber(decimal: d).int64Value).flatMap { Decimal($0) == d ? $0 : nil }
    }

    public var decimal: Decimal {
        switch self { case .int(let i): return Decimal(i); case .dec(let d): return d }
    }
    public var double: Double {
        switch self { case .int(let i): return Double(i); case .dec(let d): return NSDecimalNumber(decimal: d).doubleValue }
    }
    public var isInteger: Bool { if case .int = self { return true }; if case .dec(let d) = self { return Number.isIntegral(d) }; return false }
    static func isIntegral(_ d: Decimal) -> Bool {
        var d = d; var r = Decimal(); NSDecimalRound(&r, &d, 0, .plain); return r == d
    }
    public var intValue: Int? { if case .int(let i) = self, let v = Int(exactly: i) { return v }; return nil }

    public static func == (a: Number, b: Number) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x == y
        default: return a.decimal == b.decimal
        }
    }
    public func hash(into h: inout Hasher) {
        switch self {
        case .int(let i): h.combine(i)
        case .dec(let d): h.combine(NSDecimalNumber(decimal: d).doubleValue)
        }
    }
    public static func < (a: Number, b: Number) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y
        default: return a.decimal < b.decimal
        }
    }

    /// OPA prints numbers as their shortest exact decimal form (integers in full).
    public var description: String {
        switch self {
        case .int(let i): return String(i)
        case .dec(let d):
            var s = d.description
            if s.contains("e") || s.contains("E") { s = NSDecimalNumber(decimal: d).stringValue }
            return s
        }
    }

    // MARK: arithmetic (exact where OPA is exact)
    public static func + (a: Number, b: Number) -> Number {
        if case .int(let x) = a, case .int(let y) = b { let (r, o) = x.addingReportingOverflow(y); if !o { return .int(r) } }
        return Number(a.decimal + b.decimal)
    }
    public static func - (a: Number, b: Number) -> Number {
        if case .int(let x) = a, case .int(let y) = b { let (r, o) = x.subtractingReportingOverflow(y); if !o { return .int(r) } }
        return Number(a.decimal - b.decimal)
    }
    public static func * (a: Number, b: Number) -> Number {
        if case .int(let x) = a, case .int(let y) = b { let (r, o) = x.multipliedReportingOverflow(by: y); if !o { return .int(r) } }
        return Number(a.decimal * b.decimal)
    }
    /// Division; the caller checks for zero.
    public static func / (a: Number, b: Number) -> Number {
        if case .int(let x) = a, case .int(let y) = b, y != 0, x % y == 0 { return .int(x / y) }
        let q = a.decimal / b.decimal
        // OPA divides big floats and prints the shortest float64 form; match that for non-integers.
        if !Number.isIntegral(q), let n = Number(double: NSDecimalNumber(decimal: q).doubleValue) { return n }
        return Number(q)
    }
    public var negated: Number {
        if case .int(let x) = self, x != Int64.min { return .int(-x) }
        return Number(-decimal)
    }
    public var isNegative: Bool { switch self { case .int(let i): return i < 0; case .dec(let d): return d < 0 } }
    public var isZero: Bool { switch self { case .int(let i): return i == 0; case .dec(let d): return d.isZero } }

    public func rounded(_ mode: NSDecimalNumber.RoundingMode) -> Number {
        if case .int = self { return self }
        var d = decimal; var r = Decimal(); NSDecimalRound(&r, &d, 0, mode); return Number(r)
    }
}
