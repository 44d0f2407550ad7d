import Foundation

/// String builtins (`concat`, `sprintf`, `split`, `trim*`, `strings.*`, ...). Indexes count
/// Unicode code points, as OPA (Go runes) does.
enum StringBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        r.add("concat", 2) { _, a in
            let d = try a.string(0)
            let parts: [String] = try a.collection(1).map { v in
                guard case .string(let s) = v else { throw BuiltinError.type("operand 2 must be one of {set, array} containing strings but got \(a[1].typeName) containing \(v.typeName)") }
                return s
            }
            return .string(parts.joined(separator: d))
        }
        r.add("contains", 2) { _, a in let s = try a.string(0), t = try a.string(1); return .bool(t.isEmpty || s.utf8.count >= t.utf8.count && s.contains(t) || bytesContain(s, t)) }
        r.add("startswith", 2) { _, a in .bool(try a.string(0).utf8.starts(with: try a.string(1).utf8)) }
        r.add("endswith", 2) { _, a in .bool(try a.string(0).utf8.reversed().starts(with: try a.string(1).utf8.reversed())) }
        r.add("lower", 1) { _, a in .string(try a.string(0).lowercased()) }
        r.add("upper", 1) { _, a in .string(try a.string(0).uppercased()) }
        r.add("strings.reverse", 1) { _, a in .string(String(String.UnicodeScalarView(try a.string(0).unicodeScalars.reversed()))) }
        r.add("replace", 3) { _, a in
            let s = try a.string(0), old = try a.string(1), new = try a.string(2)
            return .string(replaceAll(s, old, new, limit: -1))
        }
        r.add("strings.replace_n", 2) { _, a in
            let patterns = try a.object(0)
            var s = try a.string(1)
            // Go's strings.NewReplacer: leftmost match, patterns tried in argument (sorted key) order.
            var pairs: [(String, String)] = []
            for i in 0..<patterns.count {
                guard case .string(let k) = patterns.keys[i] else { throw BuiltinError.type("operand 1 non-string key found in pattern object") }
                guard case .string(let v) = patterns.values[i] else { throw BuiltinError.type("operand 1 non-string value found in pattern object") }
                pairs.append((k, v))
            }
            s = replacer(s, pairs)
            return .string(s)
        }
        r.add("split", 2) { _, a in
            let s = try a.string(0), d = try a.string(1)
            if d.isEmpty { return .array(s.unicodeScalars.map { .string(String($0)) }) }
            return .array(splitBytes(s, d).map { .string($0) })
        }
        r.add("substring", 3) { _, a in
            let s = Array(try a.string(0).unicodeScalars)
            let start = try a.int(1), len = try a.int(2)
            if start < 0 { throw BuiltinError.builtin("negative offset") }
            if start >= s.count { return .string("") }
            let end = len < 0 ? s.count : min(s.count, start + len)
            var v = String.UnicodeScalarView(); v.append(contentsOf: s[start..<end])
            return .string(String(v))
        }
        r.add("indexof", 2) { _, a in
            let s = Array(try a.string(0).unicodeScalars), t = Array(try a.string(1).unicodeScalars)
            if t.isEmpty { return .int(0) }
            if t.count > s.count { return .int(-1) }
            for i in 0...(s.count - t.count) where Array(s[i..<(i + t.count)]) == t { return .int(i) }
            return .int(-1)
        }
        r.add("indexof_n", 2) { _, a in
            let s = Array(try a.string(0).unicodeScalars), t = Array(try a.string(1).unicodeScalars)
            var out: [Value] = []
            if t.isEmpty || t.count > s.count { return .array([]) }
            for i in 0...(s.count - t.count) where Array(s[i..<(i + t.count)]) == t { out.append(.int(i)) }
            return .array(out)
        }
        r.add("trim", 2) { _, a in let cut = Set(try a.string(1).unicodeScalars); return .string(trimScalars(try a.string(0), cut, left: true, right: true)) }
        r.add("trim_left", 2) { _, a in let cut = Set(try a.string(1).unicodeScalars); return .string(trimScalars(try a.string(0), cut, left: true, right: false)) }
        r.add("trim_right", 2) { _, a in let cut = Set(try a.string(1).unicodeScalars); return .string(trimScalars(try a.string(0), cut, left: false, right: true)) }
        r.add("trim_prefix", 2) { _, a in
            let s = try a.string(0), p = try a.string(1)
            return .string(s.utf8.starts(with: p.utf8) ? String(decoding: Array(s.utf8).dropFirst(p.utf8.count), as: UTF8.self) : s)
        }
        r.add("trim_suffix", 2) { _, a in
            let s = try a.string(0), p = try a.string(1)
            return .string(s.utf8.reversed().starts(with: p.utf8.reversed()) ? String(decoding: Array(s.utf8).dropLast(p.utf8.count), as: UTF8.self) : s)
        }
        r.add("trim_space", 1) { _, a in
            let ws: Set<Unicode.Scalar> = [" ", "\t", "\n", "\r", "\u{0B}", "\u{0C}", "\u{85}", "\u{A0}"]
            let s = try a.string(0)
            return .string(trimScalars(s, ws.union(s.unicodeScalars.filter { $0.properties.isWhitespace }), left: true, right: true))
        }
        r.add("format_int", 2) { _, a in
            let n = try a.number(0)
            let base = try a.int(1)
            guard [2, 8, 10, 16].contains(base) else { throw BuiltinError.type("operand 2 must be one of {2, 8, 10, 16}") }
            let i = n.rounded(.down)
            guard case .int(let v) = i else { return .string(i.description) }
            return .string(String(v, radix: base))
        }
        r.add("strings.any_prefix_match", 2) { _, a in
            let ss = try stringsArg(a, 0), ps = try stringsArg(a, 1)
            return .bool(ss.contains { s in ps.contains { s.utf8.starts(with: $0.utf8) } })
        }
        r.add("strings.any_suffix_match", 2) { _, a in
            let ss = try stringsArg(a, 0), ps = try stringsArg(a, 1)
            return .bool(ss.contains { s in ps.contains { s.utf8.reversed().starts(with: $0.utf8.reversed()) } })
        }
        r.add("strings.count", 2) { _, a in
            let s = try a.string(0), t = try a.string(1)
            if t.isEmpty { return .int(s.unicodeScalars.count + 1) }
            return .int(splitBytes(s, t).count - 1)
        }
        r.add("sprintf", 2) { _, a in .string(try Sprintf.format(try a.string(0), try a.array(1))) }
    }

    static func bytesContain(_ s: String, _ t: String) -> Bool {
        let a = Array(s.utf8), b = Array(t.utf8)
        if b.isEmpty { return true }
        if b.count > a.count { return false }
        for i in 0...(a.count - b.count) where a[i] == b[0] && Array(a[i..<(i + b.count)]) == b { return true }
        return false
    }

    static func stringsArg(_ a: [Value], _ i: Int) throws -> [String] {
        switch a[i] {
        case .string(let s): return [s]
        case .array, .set:
            let x = a[i].arrayValue ?? a[i].setValue!.elements
            return try x.map { v in
                guard case .string(let s) = v else { throw BuiltinError.type("operand \(i + 1) must be array of strings but got array containing \(v.typeName)") }
                return s
            }
        default: throw a.typeErr(i, "one of {string, set, array}")
        }
    }

    static func splitBytes(_ s: String, _ d: String) -> [String] {
        let a = Array(s.utf8), b = Array(d.utf8)
        var out: [String] = []
        var start = 0, i = 0
        while i + b.count <= a.count {
            if a[i] == b[0] && Array(a[i..<(i + b.count)]) == b {
                out.append(String(decoding: a[start..<i], as: UTF8.self)); i += b.count; start = i
            } else { i += 1 }
        }
        out.append(String(decoding: a[start...], as: UTF8.self))
        return out
    }

    static func replaceAll(_ s: String, _ old: String, _ new: String, limit: Int) -> String {
        if old.isEmpty {
            // Go inserts `new` before every rune and at the end.
            var out = new
            for u in s.unicodeScalars { out.unicodeScalars.append(u); out += new }
            return out
        }
        return splitBytes(s, old).joined(separator: new)
    }

    static func replacer(_ s: String, _ pairs: [(String, String)]) -> String {
        let a = Array(s.utf8)
        var out: [UInt8] = []
        var i = 0
        let ps = pairs.map { (Array($0.0.utf8), Array($0.1.utf8)) }
        while i < a.count {
            var matched = false
            for (k, v) in ps where !k.isEmpty && i + k.count <= a.count && Array(a[i..<(i + k.count)]) == k {
                out.append(contentsOf: v); i += k.count; matched = true; break
            }
            if !matched { out.append(a[i]); i += 1 }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func trimScalars(_ s: String, _ cut: Set<Unicode.Scalar>, left: Bool, right: Bool) -> String {
        var u = Array(s.unicodeScalars)[...]
        if left { while let f = u.first, cut.contains(f) { u = u.dropFirst() } }
        if right { while let l = u.last, cut.contains(l) { u = u.dropLast() } }
        var v = String.UnicodeScalarView(); v.append(contentsOf: u)
        return String(v)
    }
}

/// Go's `fmt.Sprintf` for the verbs policies use.
enum Sprintf {
    static func format(_ f: String, _ args: [Value]) throws -> String {
        var out = ""
        let s = Array(f.unicodeScalars)
        var i = 0, ai = 0
        while i < s.count {
            let c = s[i]
            if c != "%" { out.unicodeScalars.append(c); i += 1; continue }
            i += 1
            guard i < s.count else { out += "%!(NOVERB)"; break }
            if s[i] == "%" { out += "%"; i += 1; continue }
            var flags = ""
            while i < s.count, "+-# 0".unicodeScalars.contains(s[i]) { flags.unicodeScalars.append(s[i]); i += 1 }
            var width = ""
            while i < s.count, s[i].properties.numericType != nil, s[i].isASCII { width.unicodeScalars.append(s[i]); i += 1 }
            var prec: Int?
            if i < s.count, s[i] == "." {
                i += 1; var p = ""
                while i < s.count, s[i].isASCII, s[i].properties.numericType != nil { p.unicodeScalars.append(s[i]); i += 1 }
                prec = Int(p) ?? 0
            }
            guard i < s.count else { break }
            let verb = s[i]; i += 1
            guard ai < args.count else { out += "%!\(verb)(MISSING)"; continue }
            let arg = args[ai]; ai += 1
            var piece: String
            switch verb {
            case "v", "s":
                if case .string(let str) = arg { piece = str } else { piece = arg.description }
                if verb == "s", let p = prec { piece = String(piece.prefix(p)) }
            case "q":
                if case .string(let str) = arg { piece = JSONWriter.quote(str) } else { piece = "%!q(\(arg.description))" }
            case "d":
                if case .number(let n) = arg, n.isInteger { piece = n.description; if flags.contains("+") && !n.isNegative { piece = "+" + piece } }
                else { piece = "%!d(\(goTypeName(arg))=\(arg.description))" }
            case "f", "F", "e", "g", "G", "E":
                guard case .number(let n) = arg else { piece = "%!\(verb)(\(arg.description))"; break }
                piece = formatFloat(n, verb, prec)
                if flags.contains("+") && !n.isNegative { piece = "+" + piece }
            case "x", "X", "o", "b":
                if case .number(let n) = arg, case .int(let v) = n {
                    let radix = verb == "o" ? 8 : (verb == "b" ? 2 : 16)
                    piece = String(v, radix: radix, uppercase: verb == "X")
                } else if case .string(let str) = arg, verb == "x" || verb == "X" {
                    piece = str.utf8.map { String(format: verb == "x" ? "%02x" : "%02X", $0) }.joined()
                } else { piece = "%!\(verb)(\(arg.description))" }
            case "t":
                if case .bool(let b) = arg { piece = b ? "true" : "false" } else { piece = "%!t(\(arg.description))" }
            default:
                piece = "%!\(verb)(\(arg.description))"
            }
            if let w = Int(width), piece.count < w {
                let pad = String(repeating: flags.contains("0") && !flags.contains("-") ? "0" : " ", count: w - piece.count)
                if flags.contains("-") { piece += pad } else if flags.contains("0"), piece.hasPrefix("-") { piece = "-" + pad + piece.dropFirst() } else { piece = pad + piece }
            }
            out += piece
        }
        if ai < args.count {
            out += "%!(EXTRA " + args[ai...].map { "\(goTypeName($0))=\($0.description)" }.joined(separator: ", ") + ")"
        }
        return out
    }

    static func goTypeName(_ v: Value) -> String {
        switch v {
        case .string: return "string"
        case .number(let n): return n.isInteger ? "*big.Int" : "*big.Float"
        case .bool: return "bool"
        default: return "ast.\(v.typeName.capitalized)"
        }
    }

    static func formatFloat(_ n: Number, _ verb: Unicode.Scalar, _ prec: Int?) -> String {
        switch verb {
        case "f", "F":
            let p = prec ?? 6
            var d = n.decimal
            var r = Decimal()
            NSDecimalRound(&r, &d, p, .plain)
            var str = NSDecimalNumber(decimal: r).stringValue
            if p > 0 {
                if !str.contains(".") { str += "." }
                let frac = str.split(separator: ".", omittingEmptySubsequences: false).last!.count
                if frac < p { str += String(repeating: "0", count: p - frac) }
            }
            return str
        case "e", "E":
            return String(format: "%.\(prec ?? 6)\(verb)", n.double)
        default:
            if let p = prec { return String(format: "%.\(p)g", n.double) }
            if n.isInteger { return n.description }
            return n.description
        }
    }
}
