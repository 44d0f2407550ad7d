/// Lexical tokens of Rego.
enum TokenKind: Equatable, Sendable {
    case ident(String)
    case string(String)        // decoded "..." or `...`
    case number(String)
    case template(raw: Bool, String)  // $"..." / $`...` (body undecoded)
    case op(String)            // punctuation and operators
    case eof
}

struct Token: Sendable {
    var kind: TokenKind
    var loc: Location
    /// A newline separates this token from the previous one (expressions end at newlines).
    var newlineBefore: Bool
    var offset: Int
}
