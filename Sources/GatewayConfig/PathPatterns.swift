/// Validation of path patterns. Requests are matched on the *normalized* path (DESIGN.md, Request
/// pipeline): unreserved characters percent-decoded, no `.`/`..` segments, no `//`. A pattern
/// that could never equal such a path is refused instead of silently never matching.
enum PathPatterns {
    enum Kind: String {
        case exact = "path"
        case prefix = "path_prefix"
        case glob = "path_glob"
    }

    /// RFC 3986 `pchar` without `%`, plus `/`.
    static func isPathChar(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "a"..."z", "A"..."Z", "0"..."9": return true
        case "-", ".", "_", "~", "!", "$", "&", "'", "(", ")", "*", "+", ",", ";", "=", ":", "@", "/": return true
        default: return false
        }
    }

    /// Problems shared by every pattern kind and by `strip_prefix` and upstream base paths.
    static func literalPathProblem(_ path: String, what: String) -> String? {
        guard path.hasPrefix("/") else { return "\(what) '\(path.debugEscaped)' must start with '/'" }
        if let bad = path.unicodeScalars.first(where: { !isPathChar($0) }) {
            switch bad {
            case "?": return "\(what) '\(path.debugEscaped)' must not contain '?': routes match the path only, not the query"
            case "#": return "\(what) '\(path.debugEscaped)' must not contain '#'"
            case "%": return "\(what) '\(path.debugEscaped)' must not contain percent-encoding: write the decoded characters "
                + "(requests are matched after normalization)"
            default:
                return "\(what) '\(path.debugEscaped)' contains '\(String(bad).debugEscaped)', which never appears in a "
                    + "normalized path (letters, digits and -._~!$&'()*+,;=:@/ only)"
            }
        }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if path != "/", segments.dropLast().contains(where: \.isEmpty) {
            return "\(what) '\(path.debugEscaped)' contains '//', which never appears in a normalized path"
        }
        if segments.contains(where: { $0 == "." || $0 == ".." }) {
            return "\(what) '\(path.debugEscaped)' contains a '.' or '..' segment, which never appears in a normalized path"
        }
        return nil
    }

    static func problem(_ pattern: String, kind: Kind) -> String? {
        if let problem = literalPathProblem(pattern, what: kind.rawValue) { return problem }
        switch kind {
        case .exact, .prefix:
            if pattern.contains("*") {
                return "\(kind.rawValue) '\(pattern)': '*' is a wildcard only in path_glob (here it would match a literal '*')"
            }
            if kind == .prefix, pattern != "/", pattern.hasSuffix("/") {
                return "path_prefix '\(pattern)' must not end with '/': prefixes match whole segments "
                    + "('\(pattern.dropLast())' matches '\(pattern.dropLast())' and '\(pattern)...')"
            }
        case .glob:
            if pattern != "/", pattern.hasSuffix("/") {
                return "path_glob '\(pattern)' must not end with '/'"
            }
            for segment in pattern.split(separator: "/") where segment.contains("**") && segment != "**" {
                return "path_glob '\(pattern)': '**' must be a whole segment (as in /a/**/b), not part of '\(segment)'"
            }
        }
        return nil
    }

    /// `strip_prefix`: a literal path, not `/`, without a trailing slash.
    static func stripPrefixProblem(_ prefix: String) -> String? {
        if let problem = literalPathProblem(prefix, what: "strip_prefix") { return problem }
        if prefix == "/" { return "strip_prefix '/' removes nothing; omit it" }
        if prefix.hasSuffix("/") { return "strip_prefix '\(prefix)' must not end with '/' (it is removed segment-wise)" }
        if prefix.contains("*") { return "strip_prefix '\(prefix)' is a literal path; '*' is not a wildcard here" }
        return nil
    }

    /// Whether a path matched by `match` can start with `prefix` (segment-wise), i.e. whether
    /// `strip_prefix` can ever apply.
    static func canStart(with prefix: String, _ match: Route.PathMatch) -> Bool {
        let want = prefix.split(separator: "/")
        switch match {
        case .exact(let path), .prefix(let path):
            let have = path.split(separator: "/")
            if have.count >= want.count { return Array(have.prefix(want.count)) == want }
            // A prefix shorter than strip_prefix still matches longer paths that may continue it.
            if case .prefix = match { return Array(want.prefix(have.count)) == have }
            return false
        case .glob(let pattern):
            let have = pattern.split(separator: "/")
            for (index, segment) in want.enumerated() {
                guard index < have.count else { return false }
                let part = have[index]
                if part == "**" { return true }
                if part.contains("*") { continue }
                if part != segment { return false }
            }
            return true
        }
    }
}
