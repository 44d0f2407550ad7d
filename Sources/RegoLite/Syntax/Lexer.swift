/// Turns Rego source into tokens with positions. Comments (`#`) are dropped; newlines are kept
/// as a flag on the next token because they end expressions.
struct Lexer {
    let file: String
    let b: [UInt8]
    var i = 0
    var line = 1
    var lineStart = 0

    init(file: String, text: String) { self.file = file; self.b = Array(text.utf8) }

    static let ops3: [String] = []
    static let ops2: Set<String> = [":=", "==", "!=", "<=", ">="]
    static let ops1: Set<UInt8> = Set("=<>+-*/%&|.,;:()[]{}".utf8)

    func loc(_ at: Int) -> Location { Location(file: file, line: line, column: at - lineStart + 1) }

    func error(_ msg: String, _ at: Int) -> RegoError {
        RegoError(code: .parse, message: msg, location: Location(file: file, line: line, column: at - lineStart + 1))
    }

    mutating func tokens() throws -> [Token] {
        var out: [Token] = []
        var nl = false
        while true {
            // whitespace and comments
            while i < b.count {
                let c = b[i]
                if c == 10 { nl = true; i += 1; line += 1; lineStart = i }
                else if c == 32 || c == 9 || c == 13 { i += 1 }
                else if c == UInt8(ascii: "#") { while i < b.count, b[i] != 10 { i += 1 } }
                else { break }
            }
            if i >= b.count { out.append(Token(kind: .eof, loc: loc(i), newlineBefore: true, offset: i)); return out }
            let start = i
            let l = loc(i)
            let c = b[i]
            var kind: TokenKind
            if isIdentStart(c) {
                while i < b.count, isIdentChar(b[i]) { i += 1 }
                kind = .ident(String(decoding: b[start..<i], as: UTF8.self))
            } else if c >= 48 && c <= 57 {
                kind = .number(try lexNumber())
            } else if c == UInt8(ascii: "\"") {
                kind = .string(try lexString())
            } else if c == UInt8(ascii: "`") {
                i += 1
                let s = i
                while i < b.count, b[i] != UInt8(ascii: "`") { if b[i] == 10 { line += 1; lineStart = i + 1 }; i += 1 }
                guard i < b.count else { throw error("non-terminated raw string", start) }
                kind = .string(String(decoding: b[s..<i], as: UTF8.self)); i += 1
            } else if c == UInt8(ascii: "$"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "\"") || b[i + 1] == UInt8(ascii: "`") {
                let raw = b[i + 1] == UInt8(ascii: "`")
                i += 2
                let s = i
                var depth = 0
                while i < b.count {
                    let d = b[i]
                    if !raw && d == UInt8(ascii: "\\") { i += 2; continue }
                    if d == UInt8(ascii: "{") { depth += 1 }
                    if d == UInt8(ascii: "}") { depth = max(0, depth - 1) }
                    if depth == 0 && d == (raw ? UInt8(ascii: "`") : UInt8(ascii: "\"")) { break }
                    if depth > 0 && d == UInt8(ascii: "\"") {
                        // nested string inside an interpolation
                        i += 1
                        while i < b.count, b[i] != UInt8(ascii: "\"") { if b[i] == UInt8(ascii: "\\") { i += 1 }; i += 1 }
                    }
                    if d == 10 { if !raw { var e = error("non-terminated template string", start); e.code = .unsupported; e.message = "unsupported in RegoLite: this template string form"; throw e }; line += 1; lineStart = i + 1 }
                    i += 1
                }
                guard i < b.count else { var e = error("non-terminated template string", start); e.code = .unsupported; e.message = "unsupported in RegoLite: this template string form"; throw e }
                kind = .template(raw: raw, String(decoding: b[s..<i], as: UTF8.self)); i += 1
            } else {
                if i + 1 < b.count {
                    let two = String(decoding: b[i..<i + 2], as: UTF8.self)
                    if Lexer.ops2.contains(two) { i += 2; out.append(Token(kind: .op(two), loc: l, newlineBefore: nl, offset: start)); nl = false; continue }
                }
                guard Lexer.ops1.contains(c) else {
                    throw error("illegal token", start)
                }
                i += 1
                kind = .op(String(UnicodeScalar(c)))
            }
            out.append(Token(kind: kind, loc: l, newlineBefore: nl, offset: start))
            nl = false
        }
    }

    func isIdentStart(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 }
    func isIdentChar(_ c: UInt8) -> Bool { isIdentStart(c) || (c >= 48 && c <= 57) }

    mutating func lexNumber() throws -> String {
        let s = i
        while i < b.count, b[i] >= 48 && b[i] <= 57 { i += 1 }
        if i + 1 < b.count, b[i] == UInt8(ascii: "."), b[i + 1] >= 48 && b[i + 1] <= 57 {
            i += 1
            while i < b.count, b[i] >= 48 && b[i] <= 57 { i += 1 }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            var j = i + 1
            if j < b.count, b[j] == UInt8(ascii: "+") || b[j] == UInt8(ascii: "-") { j += 1 }
            if j < b.count, b[j] >= 48 && b[j] <= 57 {
                i = j
                while i < b.count, b[i] >= 48 && b[i] <= 57 { i += 1 }
            }
        }
        if i < b.count, isIdentStart(b[i]) { throw error("invalid number", s) }
        return String(decoding: b[s..<i], as: UTF8.self)
    }

    mutating func lexString() throws -> String {
        let start = i
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < b.count, b[i] != 10 else { throw error("non-terminated string", start) }
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c == UInt8(ascii: "\\") {
                guard i + 1 < b.count else { throw error("non-terminated string", start) }
                let e = b[i + 1]; i += 2
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "u"):
                    var r = JSONReader(b: b, i: i)
                    var cp = (try? r.hex4()) ?? 0xFFFFFFFF
                    if cp == 0xFFFFFFFF { throw error("invalid unicode escape in string", i) }
                    i = r.i
                    if cp >= 0xD800 && cp < 0xDC00, i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                        var r2 = JSONReader(b: b, i: i + 2)
                        if let lo = try? r2.hex4(), lo >= 0xDC00 && lo < 0xE000 { cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00); i = r2.i }
                    }
                    out.append(contentsOf: Array(String(Character(Unicode.Scalar(cp) ?? "\u{FFFD}")).utf8))
                default: throw error("invalid escape sequence in string", i - 2)
                }
            } else { out.append(c); i += 1 }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
