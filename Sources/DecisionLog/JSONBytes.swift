import RegoLite

/// JSON written straight into a byte array (no Foundation, no intermediate strings): the
/// writer thread encodes every record with it. Object keys come out in RegoLite's key order,
/// which for string keys is byte order, as Go's encoding/json (and `JSONWriter`) writes them.
enum JSONBytes {
    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    static func string(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            var start = 0
            for i in 0..<bytes.count {
                let b = bytes[i]
                // Escapes: quote, backslash, controls, and U+2028/2029 (E2 80 A8/A9) for JS readers.
                let needs = b == 0x22 || b == 0x5C || b < 0x20
                    || (b == 0xE2 && i + 2 < bytes.count && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9))
                guard needs else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i]))
                switch b {
                case 0x22: out.append(contentsOf: [0x5C, 0x22])
                case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case 0xE2:
                    out.append(contentsOf: Array("\\u202".utf8))
                    out.append(bytes[i + 2] == 0xA8 ? UInt8(ascii: "8") : UInt8(ascii: "9"))
                    start = i + 3
                    continue
                default:
                    out.append(contentsOf: Array("\\u00".utf8))
                    out.append(hexDigits[Int(b >> 4)])
                    out.append(hexDigits[Int(b & 15)])
                }
                start = i + 1
            }
            // Skip the two continuation bytes of an escaped U+2028/2029 already consumed.
            if start < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...])) }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func int(_ v: Int64, into out: inout [UInt8]) {
        if v == 0 { out.append(UInt8(ascii: "0")); return }
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var n = v.magnitude
        let start = out.count
        while n > 0 { out.append(UInt8(ascii: "0") + UInt8(n % 10)); n /= 10 }
        out[start...].reverse()
    }

    static func value(_ v: Value, into out: inout [UInt8]) {
        switch v {
        case .null: out.append(contentsOf: [110, 117, 108, 108])
        case .bool(let b): out.append(contentsOf: b ? [116, 114, 117, 101] : [102, 97, 108, 115, 101])
        case .number(let n):
            if case .int(let i) = n { int(i, into: &out) } else { out.append(contentsOf: Array(n.description.utf8)) }
        case .string(let s): string(s, into: &out)
        case .array(let a): list(a, into: &out)
        case .set(let s): list(s.elements, into: &out)
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            if o.keys.allSatisfy({ if case .string = $0 { return true }; return false }) {
                for i in 0..<o.count {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    value(o.keys[i], into: &out)
                    out.append(UInt8(ascii: ":"))
                    value(o.values[i], into: &out)
                }
            } else {
                // Non-string keys are written as their JSON text, sorted as strings (as JSONWriter does).
                var items: [(String, Value)] = []
                for i in 0..<o.count {
                    if case .string(let s) = o.keys[i] { items.append((s, o.values[i])) } else { items.append((JSONWriter.write(o.keys[i]), o.values[i])) }
                }
                items.sort { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
                for (i, (k, val)) in items.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    string(k, into: &out)
                    out.append(UInt8(ascii: ":"))
                    value(val, into: &out)
                }
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func list(_ a: [Value], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (i, e) in a.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            value(e, into: &out)
        }
        out.append(UInt8(ascii: "]"))
    }
}

/// RFC 3339 timestamps in UTC with nanoseconds (`2026-11-25T01:02:03.123456789Z`), as OPA writes them.
public enum RFC3339 {
    public static func format(nanoseconds: Int64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(30)
        append(nanoseconds: nanoseconds, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func append(nanoseconds: Int64, to out: inout [UInt8]) {
        let seconds = nanoseconds >= 0 ? nanoseconds / 1_000_000_000 : (nanoseconds - 999_999_999) / 1_000_000_000
        let fraction = nanoseconds - seconds * 1_000_000_000
        var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func digits(_ v: Int64, _ count: Int) {
            var divisor: Int64 = 1
            for _ in 1..<count { divisor *= 10 }
            var v = v
            while divisor > 0 { out.append(UInt8(ascii: "0") + UInt8((v / divisor) % 10)); v %= divisor; divisor /= 10 }
        }
        digits(year, 4); out.append(UInt8(ascii: "-")); digits(month, 2); out.append(UInt8(ascii: "-")); digits(day, 2)
        out.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3600, 2); out.append(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, 2); out.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2); out.append(UInt8(ascii: "."))
        digits(fraction, 9)
        out.append(UInt8(ascii: "Z"))
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` to nanoseconds since 1970.
    public static func parse(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count >= 20 else { return nil }
        func num(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<from + count {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int64(b[i] - 48)
            }
            return v
        }
        guard let year = num(0, 4), b[4] == UInt8(ascii: "-"), let month = num(5, 2), b[7] == UInt8(ascii: "-"),
              let day = num(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
              let hour = num(11, 2), b[13] == UInt8(ascii: ":"), let minute = num(14, 2), b[16] == UInt8(ascii: ":"),
              let second = num(17, 2), (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var fraction: Int64 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var scale: Int64 = 100_000_000
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                fraction += Int64(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < b.count else { return nil }
        var offset: Int64 = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            guard i + 1 == b.count else { return nil }
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard i + 6 == b.count, let oh = num(i + 1, 2), b[i + 3] == UInt8(ascii: ":"), let om = num(i + 4, 2) else { return nil }
            offset = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
        } else { return nil }
        // Days from civil (Howard Hinnant).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * mp + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return seconds * 1_000_000_000 + fraction
    }
}
