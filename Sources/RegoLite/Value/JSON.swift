import Foundation

public struct JSONError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let offset: Int
    public var description: String { "\(message) at offset \(offset)" }
}

/// A strict JSON reader producing `Value`s with exact numbers.
public struct JSONReader {
    let b: [UInt8]
    var i = 0
    var depth = 0
    static let maxDepth = 512

    public static func parse(_ s: String) throws -> Value { try parse(bytes: Array(s.utf8)) }
    public static func parse(data: Data) throws -> Value { try parse(bytes: [UInt8](data)) }
    public static func parse(bytes: [UInt8]) throws -> Value {
        var r = JSONReader(b: bytes)
        r.ws()
        let v = try r.value()
        r.ws()
        if r.i != r.b.count { throw JSONError(message: "trailing characters", offset: r.i) }
        return v
    }

    mutating func ws() { while i < b.count, b[i] == 32 || b[i] == 9 || b[i] == 10 || b[i] == 13 { i += 1 } }
    func fail(_ m: String) -> JSONError { JSONError(message: m, offset: i) }

    mutating func value() throws -> Value {
        guard i < b.count else { throw fail("unexpected end of input") }
        switch b[i] {
        case UInt8(ascii: "{"):
            depth += 1; if depth > JSONReader.maxDepth { throw fail("nesting too deep") }
            i += 1; ws()
            var pairs: [(Value, Value)] = []
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; depth -= 1; return .object(RegoObject()) }
            while true {
                ws()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected string key") }
                let k = try string()
                ws()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1; ws()
                let v = try value()
                pairs.append((.string(k), v))
                ws()
                guard i < b.count else { throw fail("unexpected end of input") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; break }
                throw fail("expected ',' or '}'")
            }
            depth -= 1
            return .object(RegoObject(pairs: pairs))
        case UInt8(ascii: "["):
            depth += 1; if depth > JSONReader.maxDepth { throw fail("nesting too deep") }
            i += 1; ws()
            var arr: [Value] = []
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; depth -= 1; return .array([]) }
            while true {
                ws()
                arr.append(try value())
                ws()
                guard i < b.count else { throw fail("unexpected end of input") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; break }
                throw fail("expected ',' or ']'")
            }
            depth -= 1
            return .array(arr)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try lit("true"); return .bool(true)
        case UInt8(ascii: "f"): try lit("false"); return .bool(false)
        case UInt8(ascii: "n"): try lit("null"); return .null
        default: return .number(try number())
        }
    }

    mutating func lit(_ s: String) throws {
        let u = Array(s.utf8)
        guard i + u.count <= b.count, Array(b[i..<i + u.count]) == u else { throw fail("invalid literal") }
        i += u.count
    }

    mutating func number() throws -> Number {
        let start = i
        while i < b.count, let c = Optional(b[i]), (c >= 48 && c <= 57) || c == 45 || c == 43 || c == 46 || c == 101 || c == 69 { i += 1 }
        let s = String(decoding: b[start..<i], as: UTF8.self)
        guard let n = Number(literal: s) else { i = start; throw fail("invalid number") }
        return n
    }

    mutating func string() throws -> String {
        i += 1
        let start = i
        // Fast path: no escapes.
        while i < b.count, b[i] != UInt8(ascii: "\""), b[i] != UInt8(ascii: "\\"), b[i] >= 0x20 { i += 1 }
        if i < b.count, b[i] == UInt8(ascii: "\"") {
            let s = String(decoding: b[start..<i], as: UTF8.self); i += 1; return s
        }
        var out = Array(b[start..<i])
        while true {
            guard i < b.count else { throw fail("unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c < 0x20 { throw fail("control character in string") }
            if c == UInt8(ascii: "\\") {
                i += 1
                guard i < b.count else { throw fail("unterminated string") }
                let e = b[i]; i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var cp = try hex4()
                    if cp >= 0xD800 && cp < 0xDC00, i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                        let save = i
                        i += 2
                        let lo = try hex4()
                        if lo >= 0xDC00 && lo < 0xE000 { cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00) } else { i = save }
                    }
                    let scalar = Unicode.Scalar(cp) ?? "\u{FFFD}"
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw fail("invalid escape")
                }
            } else { out.append(c); i += 1 }
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count else { throw fail("invalid unicode escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]; i += 1
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 97...102: d = UInt32(c - 87)
            case 65...70: d = UInt32(c - 55)
            default: throw fail("invalid unicode escape")
            }
            v = v * 16 + d
        }
        return v
    }
}

/// JSON output as OPA writes it: object keys sorted, sets as arrays, non-string keys stringified.
public enum JSONWriter {
    public static func write(_ v: Value, htmlEscape: Bool = false, pretty: Bool = false) -> String {
        var out = ""
        write(v, into: &out, html: htmlEscape, indent: pretty ? 0 : nil)
        return out
    }

    static func write(_ v: Value, into out: inout String, html: Bool, indent: Int?) {
        switch v {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n.description
        case .string(let s): out += quote(s, html: html)
        case .array(let a): writeList(a, into: &out, html: html, indent: indent)
        case .set(let s): writeList(s.elements, into: &out, html: html, indent: indent)
        case .object(let o):
            if o.isEmpty { out += "{}"; return }
            // Keys are sorted as strings after stringification (Go's encoding/json does that).
            var items: [(String, Value)] = []
            for i in 0..<o.count {
                let k: String
                if case .string(let s) = o.keys[i] { k = s } else { k = write(o.keys[i]) }
                items.append((k, o.values[i]))
            }
            items.sort { Value.compareStrings($0.0, $1.0) < 0 }
            out += "{"
            for (i, (k, val)) in items.enumerated() {
                if i > 0 { out += "," }
                if let ind = indent { out += "\n" + String(repeating: "  ", count: ind + 1) }
                out += quote(k, html: html); out += indent == nil ? ":" : ": "
                write(val, into: &out, html: html, indent: indent.map { $0 + 1 })
            }
            if let ind = indent { out += "\n" + String(repeating: "  ", count: ind) }
            out += "}"
        }
    }

    static func writeList(_ a: [Value], into out: inout String, html: Bool, indent: Int?) {
        if a.isEmpty { out += "[]"; return }
        out += "["
        for (i, e) in a.enumerated() {
            if i > 0 { out += "," }
            if let ind = indent { out += "\n" + String(repeating: "  ", count: ind + 1) }
            write(e, into: &out, html: html, indent: indent.map { $0 + 1 })
        }
        if let ind = indent { out += "\n" + String(repeating: "  ", count: ind) }
        out += "]"
    }

    public static func quote(_ s: String, html: Bool = false) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<" where html: out += "\\u003c"
            case ">" where html: out += "\\u003e"
            case "&" where html: out += "\\u0026"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if u.value < 0x20 {
                    switch u.value {
                    case 8: out += "\\b"
                    case 12: out += "\\f"
                    default: out += String(format: "\\u%04x", u.value)
                    }
                } else { out.unicodeScalars.append(u) }
            }
        }
        out += "\""
        return out
    }
}
