import Foundation

/// `regex.*` and `re_match` on `NSRegularExpression` (see RegexSupport for RE2 differences).
enum RegexBuiltins {
    static func nonEmpty(_ p: String) -> String { p.isEmpty ? "(?:)" : p }
    static func register(into r: inout BuiltinRegistry) {
        r.add("regex.match", 2) { ctx, a in
            let re = try ctx.regex(try a.string(0)), s = try a.string(1)
            return .bool(re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil)
        }
        r.add("re_match", 2) { ctx, a in
            let re = try ctx.regex(try a.string(0)), s = try a.string(1)
            return .bool(re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil)
        }
        r.add("regex.is_valid", 1) { _, a in
            guard case .string(let p) = a[0] else { return .false }
            return .bool((try? RegexSupport.compile(p)) != nil)
        }
        r.add("regex.split", 2) { ctx, a in
            let re = try ctx.regex(try a.string(0)), s = try a.string(1)
            var out: [Value] = []
            var last = s.startIndex
            for m in re.matches(in: s, range: NSRange(s.startIndex..., in: s)) {
                guard let rg = Range(m.range, in: s) else { continue }
                out.append(.string(String(s[last..<rg.lowerBound]))); last = rg.upperBound
            }
            out.append(.string(String(s[last...])))
            return .array(out)
        }
        r.add("regex.find_n", 3) { ctx, a in
            let re = try ctx.regex(try a.string(0)), s = try a.string(1), n = try a.int(2)
            var out: [Value] = []
            for m in re.matches(in: s, range: NSRange(s.startIndex..., in: s)) {
                if n >= 0 && out.count >= n { break }
                if let rg = Range(m.range, in: s) { out.append(.string(String(s[rg]))) }
            }
            return .array(out)
        }
        r.add("regex.find_all_string_submatch_n", 3) { ctx, a in
            let re = try ctx.regex(try a.string(0)), s = try a.string(1), n = try a.int(2)
            var out: [Value] = []
            for m in re.matches(in: s, range: NSRange(s.startIndex..., in: s)) {
                if n >= 0 && out.count >= n { break }
                var groups: [Value] = []
                for g in 0..<m.numberOfRanges {
                    if let rg = Range(m.range(at: g), in: s) { groups.append(.string(String(s[rg]))) } else { groups.append(.string("")) }
                }
                out.append(.array(groups))
            }
            return .array(out)
        }
        r.add("regex.replace", 3) { ctx, a in
            let s = try a.string(0), re = try ctx.regex(try a.string(1)), rep = try a.string(2)
            // Go's ReplaceAllString expands $1 / ${1}; NSRegularExpression uses $1 as well.
            let tmpl = rep.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "${", with: "$").replacingOccurrences(of: "}", with: "")
            let useTmpl = rep.contains("${") ? tmpl : rep.replacingOccurrences(of: "\\", with: "\\\\")
            return .string(re.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: useTmpl))
        }
    }
}
