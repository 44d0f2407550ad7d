import RegoLite

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
