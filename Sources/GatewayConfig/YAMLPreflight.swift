/// A lexical check run before Yams composes the file. Yams hashes every mapping key to find
/// duplicates; a key that is an alias of a deeply aliased collection ("billion laughs" used as a
/// key) would make that hashing run for hours. routes.yaml only ever needs plain names as keys,
/// so, in a file that uses aliases at all, a key that is an alias, a `[...]`/`{...}` collection, or
/// an explicit `? ` key is refused here, before composing.
enum YAMLPreflight {
    static func complexKeys(in text: String) -> [(Position, String)] {
        var scanner = Scanner()
        var number = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            scanner.scan(Array(line.unicodeScalars), line: number)
        }
        return scanner.aliases > 0 ? scanner.findings : []
    }

    private struct Scanner {
        var findings: [(Position, String)] = []
        var aliases = 0
        var inDouble = false
        var inSingle = false
        /// Inside a block scalar (`|`, `>`): lines indented more than this are its content.
        var blockParent: Int?

        static let keyMessage = "mapping keys must be plain names here: an alias (*name), a list or a mapping cannot be a key"

        mutating func scan(_ s: [Unicode.Scalar], line: Int) {
            if let parent = blockParent, !inDouble, !inSingle {
                let indent = s.firstIndex { $0 != " " } ?? s.count
                if indent == s.count || indent > parent { return }
                blockParent = nil
            }
            var i = 0
            while i < s.count {
                let c = s[i]
                if inDouble {
                    if c == "\\" { i += 2; continue }
                    if c == "\"" { inDouble = false }
                    i += 1; continue
                }
                if inSingle {
                    if c == "'" {
                        if i + 1 < s.count, s[i + 1] == "'" { i += 2; continue }
                        inSingle = false
                    }
                    i += 1; continue
                }
                let tokenStart = i == 0 || [" ", "\t", "[", "{", ","].contains(s[i - 1])
                let next: Unicode.Scalar? = i + 1 < s.count ? s[i + 1] : nil
                let nextIsBlank = next == nil || next == " " || next == "\t"
                switch c {
                case "#" where i == 0 || s[i - 1] == " " || s[i - 1] == "\t":
                    return
                case "\"" where tokenStart: inDouble = true
                case "'" where tokenStart: inSingle = true
                case "?" where tokenStart && nextIsBlank:
                    findings.append((Position(line: line, column: i + 1),
                                     "explicit keys ('? ') are not supported: write key: value with a plain name"))
                case "*" where tokenStart && next.map(isAnchorChar) == true:
                    aliases += 1
                    var j = i + 1
                    while j < s.count, isAnchorChar(s[j]) { j += 1 }
                    if isKeyColon(s, from: j) { findings.append((Position(line: line, column: i + 1), Self.keyMessage)) }
                    i = j; continue
                case "]", "}":
                    if isKeyColon(s, from: i + 1) { findings.append((Position(line: line, column: i + 1), Self.keyMessage)) }
                case "|" where tokenStart, ">" where tokenStart:
                    var j = i + 1
                    while j < s.count, s[j] == "+" || s[j] == "-" || ("0"..."9").contains(s[j]) { j += 1 }
                    while j < s.count, s[j] == " " || s[j] == "\t" { j += 1 }
                    if j == s.count || s[j] == "#" {
                        blockParent = parentIndent(s, before: i)
                        return
                    }
                default: break
                }
                i += 1
            }
        }

        func isAnchorChar(_ c: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "-" || c == "_"
        }

        /// Spaces, then `:` followed by a blank, a flow indicator or the end of the line.
        func isKeyColon(_ s: [Unicode.Scalar], from start: Int) -> Bool {
            var j = start
            while j < s.count, s[j] == " " || s[j] == "\t" { j += 1 }
            guard j < s.count, s[j] == ":" else { return false }
            return j + 1 == s.count || [" ", "\t", ",", "]", "}"].contains(s[j + 1])
        }

        /// The column of the key owning a block scalar that starts at `end` (after `- ` indicators);
        /// for `- |` the dash's column.
        func parentIndent(_ s: [Unicode.Scalar], before end: Int) -> Int {
            var i = s.firstIndex { $0 != " " } ?? 0
            var dash = i
            while i + 1 < s.count, s[i] == "-", s[i + 1] == " " {
                dash = i
                i += 2
                while i < s.count, s[i] == " " { i += 1 }
            }
            return i >= end ? dash : i
        }
    }
}
