import RegoLite

/// A growable byte buffer written with plain stores (no Array uniqueness checks per append):
/// one per writer thread, reset for every record, copied out once per record.
final class JSONOutput {
    @exclusivity(unchecked) private(set) var base: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) private(set) var count = 0
    @exclusivity(unchecked) private var capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    @inline(__always) func reset() { count = 0 }

    /// Drops what was written after `mark` (a former `count`).
    func truncate(to mark: Int) { count = min(count, mark) }

    @inline(__always) func reserve(_ extra: Int) {
        if count + extra > capacity { grow(count + extra) }
    }

    @inline(never) private func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        fresh.update(from: base, count: count)
        base.deallocate()
        base = fresh
        capacity = newCapacity
    }

    @inline(__always) func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always) func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    @inline(__always) func append(_ text: StaticString) {
        append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }
}

/// JSON written straight into bytes (no Foundation, no intermediate strings): the writer thread
/// encodes every record with it. Object keys come out in RegoLite's key order, which for string
/// keys is byte order, as Go's encoding/json (and `JSONWriter`) writes them.
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

    /// For tests: one string into an array.
    static func string(_ s: String, into out: inout [UInt8]) {
        let o = JSONOutput()
        string(s, into: o)
        out += o.bytes
    }

    static func string(_ s: String, into out: JSONOutput) {
        if let done: Void = s.utf8.withContiguousStorageIfAvailable({ string(utf8: $0, into: out) }) { return done }
        var copy = s
        copy.withUTF8 { string(utf8: $0, into: out) }
    }

    static func string(utf8 bytes: UnsafeBufferPointer<UInt8>, into out: JSONOutput) {
        do {
            out.reserve(bytes.count + 2)
            out.append(UInt8(ascii: "\""))
            var start = 0
            var i = 0
            let n = bytes.count
            while i < n {
                // Eight bytes at a time while none needs a look (SWAR: any byte < 0x20, == '"',
                // == '\\' or == 0xE2 stops the skip).
                while i + 8 <= n {
                    let w = UnsafeRawPointer(bytes.baseAddress! + i).loadUnaligned(as: UInt64.self)
                    if Self.needsLook(w) { break }
                    i += 8
                }
                if i >= n { break }
                let b = bytes[i]
                // Escapes: quote, backslash, controls, and U+2028/2029 (E2 80 A8/A9) for JS readers.
                if b >= 0x20, b != 0x22, b != 0x5C, b != 0xE2 { i += 1; continue }
                if b == 0xE2, !(i + 2 < n && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9)) { i += 1; continue }
                out.append(UnsafeBufferPointer(rebasing: bytes[start..<i]))
                switch b {
                case 0x22: out.append("\\\"")
                case 0x5C: out.append("\\\\")
                case 0x0A: out.append("\\n")
                case 0x0D: out.append("\\r")
                case 0x09: out.append("\\t")
                case 0xE2:
                    out.append(bytes[i + 2] == 0xA8 ? "\\u2028" : "\\u2029")
                    i += 3
                    start = i
                    continue
                default:
                    out.append("\\u00")
                    out.append(hexDigits[Int(b >> 4)])
                    out.append(hexDigits[Int(b & 15)])
                }
                i += 1
                start = i
            }
            out.append(UnsafeBufferPointer(rebasing: bytes[start..<n]))
            out.append(UInt8(ascii: "\""))
        }
    }

    @inline(__always) static func needsLook(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func hasZero(_ x: UInt64) -> Bool { (x &- ones) & ~x & highs != 0 }
        // A byte < 0x20: (b - 0x20) borrows into its high bit while b's own high bit is clear.
        let control = (w &- ones &* 0x20) & ~w & highs != 0
        return control || hasZero(w ^ (ones &* 0x22)) || hasZero(w ^ (ones &* 0x5C)) || hasZero(w ^ (ones &* 0xE2))
    }

    static func int(_ v: Int64, into out: JSONOutput) {
        if v == 0 { out.append(UInt8(ascii: "0")); return }
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var n = v.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch, no allocation
        var length = 0
        withUnsafeMutableBytes(of: &digits) { scratch in
            while n > 0 { scratch[23 - length] = UInt8(ascii: "0") + UInt8(n % 10); n /= 10; length += 1 }
            out.append(UnsafeBufferPointer(rebasing: scratch.bindMemory(to: UInt8.self)[(24 - length)...]))
        }
    }

    static func value(_ v: Value, into out: JSONOutput) {
        switch v {
        case .null: out.append("null")
        case .bool(let b): out.append(b ? "true" : "false")
        case .number(let n):
            if case .int(let i) = n { int(i, into: out) } else {
                var text = n.description
                text.withUTF8 { out.append($0) }
            }
        case .string(let s): string(s, into: out)
        case .array(let a): list(a, into: out)
        case .set(let s): list(s.elements, into: out)
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            var allStrings = true
            for k in o.keys { if case .string = k { continue }; allStrings = false; break }
            if allStrings {
                o.keys.withUnsafeBufferPointer { keys in
                    o.values.withUnsafeBufferPointer { values in
                        for i in 0..<keys.count {
                            if i > 0 { out.append(UInt8(ascii: ",")) }
                            if case .string(let k) = keys[i] { string(k, into: out) }
                            out.append(UInt8(ascii: ":"))
                            value(values[i], into: out)
                        }
                    }
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
                    string(k, into: out)
                    out.append(UInt8(ascii: ":"))
                    value(val, into: out)
                }
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func list(_ a: [Value], into out: JSONOutput) {
        out.append(UInt8(ascii: "["))
        a.withUnsafeBufferPointer { items in
            for i in 0..<items.count {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                value(items[i], into: out)
            }
        }
        out.append(UInt8(ascii: "]"))
    }

    static func strings(_ a: [String], into out: JSONOutput) {
        out.append(UInt8(ascii: "["))
        for i in 0..<a.count {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            string(a[i], into: out)
        }
        out.append(UInt8(ascii: "]"))
    }
}

/// RFC 3339 timestamps in UTC with nanoseconds (`2026-11-25T01:02:03.123456789Z`), as OPA writes them.
public enum RFC3339 {
    public static func format(nanoseconds: Int64) -> String {
        let out = JSONOutput(capacity: 64)
        append(nanoseconds: nanoseconds, to: out)
        return String(decoding: UnsafeBufferPointer(start: out.base, count: out.count), as: UTF8.self)
    }

    static func append(nanoseconds: Int64, to out: JSONOutput) {
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
