import Foundation

/// `glob.match` (gobwas/glob semantics: `*`, `?`, `**`, `[...]`, `{a,b}`, delimiters) and `glob.quote_meta`.
enum GlobBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        r.add("glob.match", 3) { _, a in
            let pattern = try a.string(0)
            var delims: [Character]
            switch a[1] {
            case .null: delims = []
            case .array(let ds):
                delims = try ds.map { d in
                    guard case .string(let s) = d, let c = s.first else { throw BuiltinError.type("operand 2 must be array of strings but got array containing \(d.typeName)") }
                    return c
                }
                if ds.isEmpty { delims = ["."] }

            default: throw a.typeErr(1, "array")
            }
            let s = try a.string(2)
            let re = try toRegex(pattern, delims)
            let ns = s as NSString
            let m = re.firstMatch(in: s, options: [], range: NSRange(location: 0, length: ns.length))
            return .bool(m != nil)
        }
        r.add("glob.quote_meta", 1) { _, a in
            var out = ""
            for c in try a.string(0) {
                if "*?\\[]{}".contains(c) { out.append("\\") }
                out.append(c)
            }
            return .string(out)
        }
    }

    // NSCache is thread-safe.
    nonisolated(unsafe) static let cache = NSCache<NSString, NSRegularExpression>()

    static func toRegex(_ p: String, _ delims: [Character]) throws -> NSRegularExpression {
        let key = (p + "\u{0}" + String(delims)) as NSString
        if let r = cache.object(forKey: key) { return r }
        let notDelim = delims.isEmpty ? "." : "[^" + delims.map { NSRegularExpression.escapedPattern(for: String($0)) }.joined() + "]"
        var out = "^"
        let cs = Array(p)
        var i = 0
        var braceDepth = 0
        while i < cs.count {
            let c = cs[i]
            switch c {
            case "*":
                if i + 1 < cs.count, cs[i + 1] == "*" { out += ".*"; i += 1 } else { out += notDelim + "*" }
            case "?": out += notDelim
            case "\\":
                i += 1
                guard i < cs.count else { throw BuiltinError.builtin("unexpected end of input") }
                out += NSRegularExpression.escapedPattern(for: String(cs[i]))
            case "[":
                var j = i + 1
                var cls = "["
                if j < cs.count, cs[j] == "!" { cls += "^"; j += 1 }
                var closed = false
                while j < cs.count {
                    if cs[j] == "]" { closed = true; break }
                    if cs[j] == "\\" || cs[j] == "[" { cls += "\\" }
                    cls.append(cs[j]); j += 1
                }
                guard closed else { throw BuiltinError.builtin("unexpected end of input") }
                out += cls + "]"
                i = j
            case "{": out += "(?:"; braceDepth += 1
            case "}" where braceDepth > 0: out += ")"; braceDepth -= 1
            case "," where braceDepth > 0: out += "|"
            default: out += NSRegularExpression.escapedPattern(for: String(c))
            }
            i += 1
        }
        if braceDepth != 0 { throw BuiltinError.builtin("unexpected end of input") }
        out += "$"
        do {
            let r = try NSRegularExpression(pattern: out, options: [.dotMatchesLineSeparators])
            cache.setObject(r, forKey: key)
            return r
        } catch { throw BuiltinError.builtin("invalid glob pattern") }
    }
}
