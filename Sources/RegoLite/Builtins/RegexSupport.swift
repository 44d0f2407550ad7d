import Foundation

/// Go RE2 patterns on Foundation's `NSRegularExpression` (ICU).
///
/// Known differences (also listed in SPEC.md):
/// - RE2 has no backreferences or lookaround; ICU accepts them, so patterns OPA rejects compile here.
/// - `\z` is RE2's end of text; ICU's `\z` matches the same. `\Z` is not RE2 syntax but ICU accepts it.
/// - RE2's `(?P<name>...)` named groups are rewritten to ICU's `(?<name>...)`.
/// - Character class `[[:alpha:]]` POSIX forms are rewritten to `\p{Alpha}`-style ICU classes.
/// - Matching is on UTF-16 in ICU and UTF-8 in RE2; results are converted back to Swift strings, so
///   offsets never leak, but invalid UTF-8 cannot occur in Swift strings anyway.
/// - ICU has no linear-time guarantee: a pathological pattern can backtrack. The evaluation step
///   limit does not bound the inside of one match; input size limits do.
enum RegexSupport {
    static func compile(_ pattern: String) throws -> NSRegularExpression {
        var p = pattern.replacingOccurrences(of: "(?P<", with: "(?<")
        let posix = ["[:alpha:]": "\\p{Alpha}", "[:digit:]": "\\d", "[:alnum:]": "\\p{Alnum}", "[:space:]": "\\s",
                     "[:upper:]": "\\p{Upper}", "[:lower:]": "\\p{Lower}", "[:punct:]": "\\p{Punct}", "[:xdigit:]": "\\p{XDigit}",
                     "[:word:]": "\\w"]
        for (k, v) in posix { p = p.replacingOccurrences(of: k, with: v) }
        do { return try NSRegularExpression(pattern: p, options: []) }
        catch { throw BuiltinError.builtin("error parsing regexp: invalid pattern: `\(pattern)`") }
    }
}
