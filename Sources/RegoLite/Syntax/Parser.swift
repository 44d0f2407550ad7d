/// Recursive-descent parser for the Rego v1 subset. Produces `Module`s with positions.
struct Parser {
    var toks: [Token]
    var p = 0
    let source: SourceFile
    /// Bracket nesting: newlines end expressions only at depth 0.
    var depth = 0

    init(source: SourceFile) throws {
        var lx = Lexer(file: source.name, text: source.text)
        do { toks = try lx.tokens() } catch var e as RegoError { e.excerpt = source.excerpt(e.location ?? .none); throw e }
        self.source = source
    }

    static func parseModule(name: String, text: String) throws -> Module {
        let src = SourceFile(name: name, text: text)
        var ps = try Parser(source: src)
        do { return try ps.module() } catch var e as RegoError { if e.excerpt == nil { e.excerpt = src.excerpt(e.location ?? .none) }; throw e }
    }

    /// Parses a query: a body of expressions.
    static func parseQuery(_ text: String) throws -> [Expr] {
        let src = SourceFile(name: "query", text: text)
        var ps = try Parser(source: src)
        do {
            let body = try ps.bodyUntil(eof: true)
            if body.isEmpty { throw RegoError(code: .parse, message: "empty query", location: ps.cur.loc) }
            return body
        } catch var e as RegoError { if e.excerpt == nil { e.excerpt = src.excerpt(e.location ?? .none) }; throw e }
    }

    /// Parses a single term (used for `input_term`).
    static func parseTerm(_ text: String) throws -> Term {
        var ps = try Parser(source: SourceFile(name: "term", text: text))
        let t = try ps.exprTerm(allowComma: false)
        guard case .eof = ps.cur.kind else { throw ps.err("unexpected token after term") }
        return t
    }

    // MARK: token helpers
    var cur: Token { toks[p] }
    var next: Token { toks[min(p + 1, toks.count - 1)] }
    func isOp(_ s: String) -> Bool { if case .op(let o) = cur.kind { return o == s }; return false }
    func isIdent(_ s: String) -> Bool { if case .ident(let o) = cur.kind { return o == s }; return false }
    var atLineEnd: Bool { depth == 0 && cur.newlineBefore }
    mutating func advance() { if p < toks.count - 1 { p += 1 } }
    func err(_ msg: String, _ loc: Location? = nil) -> RegoError {
        RegoError(code: .parse, message: msg, location: loc ?? cur.loc)
    }
    mutating func expectOp(_ s: String) throws {
        guard isOp(s) else { throw err("unexpected \(tokenText(cur)) token: expected \(s)") }
        advance()
    }
    func tokenText(_ t: Token) -> String {
        switch t.kind {
        case .ident(let s): return s
        case .string: return "string"
        case .number(let n): return n
        case .template: return "template string"
        case .op(let o): return o
        case .eof: return "eof"
        }
    }

    /// A keyword directly followed by `.`, `[` or `(` is a name (`contains.foo`, `contains(x, y)`).
    var keywordUsedAsName: Bool {
        guard case .ident(let n) = cur.kind else { return false }
        guard case .op(let o) = next.kind, o == "." || o == "(" || o == "[" else { return false }
        return next.offset == cur.offset + n.utf8.count
    }

    static let keywords: Set<String> = ["package", "import", "default", "if", "contains", "else", "some", "every", "in", "not", "with", "as"]

    // MARK: module
    mutating func module() throws -> Module {
        guard isIdent("package") else { throw err("package expected") }
        let ploc = cur.loc
        advance()
        let pref = try refTerm()
        var pkg: [String] = []
        guard case .ref(let h, let segs) = pref.kind, case .variable(let first) = h.kind else {
            if case .variable(let v) = pref.kind { pkg = [v] } else { throw err("invalid package path", ploc) }
            return try moduleRest(pkg, ploc)
        }
        pkg = [first]
        for s in segs {
            guard case .scalar(.string(let str)) = s.kind else { throw err("invalid package path: segments must be strings", s.loc) }
            pkg.append(str)
        }
        if pkg.first == "data" { pkg.removeFirst() }
        return try moduleRest(pkg, ploc)
    }

    mutating func moduleRest(_ pkg: [String], _ ploc: Location) throws -> Module {
        var imports: [Import] = []
        var rules: [Rule] = []
        while isIdent("import") && !keywordUsedAsName {
            let l = cur.loc
            advance()
            let path = try refTerm()
            var alias: String?
            if isIdent("as"), !cur.newlineBefore {
                advance()
                guard case .ident(let a) = cur.kind else { throw err("expected alias name") }
                alias = a; advance()
            }
            imports.append(Import(path: path, alias: alias, loc: l))
        }
        while true {
            if case .eof = cur.kind { break }
            if isIdent("import") && !keywordUsedAsName { throw err("imports must appear before rules") }
            if isIdent("package") && !keywordUsedAsName { throw err("unexpected package keyword") }
            rules.append(contentsOf: try rule())
        }
        return Module(package: pkg, packageLoc: ploc, imports: imports, rules: rules, source: source)
    }

    // MARK: rules
    mutating func rule() throws -> [Rule] {
        let loc = cur.loc
        var isDefault = false
        if isIdent("default") && !keywordUsedAsName { isDefault = true; advance() }
        guard case .ident(let name) = cur.kind, !Parser.keywords.contains(name) || keywordUsedAsName else {
            throw err("unexpected \(tokenText(cur)) token: expected rule head")
        }
        let nameLoc = cur.loc
        advance()
        var ref: [Term] = [Term(.variable(name), nameLoc)]
        while !cur.newlineBefore {
            if isOp(".") {
                advance()
                guard case .ident(let s) = cur.kind else { throw err("expected identifier after '.'") }
                ref.append(Term(.scalar(.string(s)), cur.loc)); advance()
            } else if isOp("[") {
                advance(); depth += 1
                let t = try exprTerm(allowComma: false)
                depth -= 1
                try expectOp("]")
                ref.append(t)
            } else { break }
        }
        var args: [Term]?
        if isOp("("), !cur.newlineBefore {
            advance(); depth += 1
            var a: [Term] = []
            while !isOp(")") {
                a.append(try exprTerm(allowComma: false))
                if isOp(",") { advance() } else { break }
            }
            depth -= 1
            try expectOp(")")
            args = a
        }
        var head = RuleHead(ref: ref, args: args, key: nil, value: nil, assign: false, loc: nameLoc)
        if isIdent("contains") && !cur.newlineBefore {
            if isDefault { throw err("default rules cannot use contains") }
            advance()
            head.key = try exprTerm(allowComma: false, noAssign: true)
        } else if (isOp(":=") || isOp("=")) && !cur.newlineBefore {
            head.assign = isOp(":=")
            advance()
            head.value = try exprTerm(allowComma: false, noAssign: true)
        }
        if isDefault {
            guard head.value != nil else { throw err("default rule must have a value", loc) }
            if head.args != nil && !(head.args!.isEmpty) {
                // default functions are allowed in OPA; we support them with arguments as wildcards
            }
            return [Rule(head: head, body: [], elses: [], isDefault: true, loc: loc, bodyIsImplicit: true)]
        }
        var body: [Expr] = []
        var implicit = true
        if isIdent("if") && !cur.newlineBefore {
            advance()
            body = try ruleBody()
            implicit = false
        } else if isOp("{") && !cur.newlineBefore {
            throw err("`if` keyword is required before rule body")
        }
        if implicit {
            body = [Expr(.term(Term(.scalar(.bool(true)), loc)), loc)]
        }
        var elses: [ElseClause] = []
        while isIdent("else") && !keywordUsedAsName {
            let el = cur.loc
            advance()
            var v: Term?
            if isOp(":=") || isOp("=") { advance(); v = try exprTerm(allowComma: false, noAssign: true) }
            var eb: [Expr]
            if isIdent("if") { advance(); eb = try ruleBody() }
            else if isOp("{") { throw err("`if` keyword is required before rule body") }
            else { eb = [Expr(.term(Term(.scalar(.bool(true)), el)), el)] }
            elses.append(ElseClause(value: v, body: eb, loc: el))
        }
        if !elses.isEmpty && head.key != nil { throw err("else keyword cannot be used on multi-value rules", loc) }
        return [Rule(head: head, body: body, elses: elses, isDefault: false, loc: loc, bodyIsImplicit: implicit)]
    }

    /// After `if`: either `{ body }` or a single expression.
    mutating func ruleBody() throws -> [Expr] {
        if isOp("{") {
            // `{` could also start an object/set term used as single expression; OPA treats it as a body.
            let save = p
            advance()
            depth += 1
            let saveDepth = depth
            depth = 0
            defer { depth = saveDepth - 1 }
            do {
                let b = try bodyUntil(eof: false)
                try expectOp("}")
                return b
            } catch {
                // `if {k: v | ...}`: a single comprehension expression rather than a body.
                p = save; depth = saveDepth - 1
                if let e = try? literal() { return [e] }
                throw error
            }
        }
        let e = try literal()
        return [e]
    }

    /// Expressions separated by `;` or newlines, up to `}` (or eof for queries).
    mutating func bodyUntil(eof: Bool) throws -> [Expr] {
        var out: [Expr] = []
        while true {
            if eof, case .eof = cur.kind { break }
            if !eof && isOp("}") { break }
            if isOp(";") { advance(); continue }
            let e = try literal()
            out.append(e)
            if isOp(";") { advance(); continue }
            if eof, case .eof = cur.kind { break }
            if !eof && isOp("}") { break }
            if !cur.newlineBefore { throw err("unexpected \(tokenText(cur)) token: expected expression separator") }
        }
        if !eof && out.isEmpty { throw err("found empty body") }
        return out
    }

    // MARK: expressions
    mutating func literal() throws -> Expr {
        let loc = cur.loc
        if isIdent("not") && !keywordUsedAsName {
            advance()
            var e = try literal()
            if e.negated { throw err("unexpected not keyword", loc) }
            if case .some = e.kind { throw err("unexpected some keyword", loc) }
            e.negated = true
            e.loc = loc
            return e
        }
        var e: Expr
        if isIdent("some") && !keywordUsedAsName {
            advance()
            e = try someDecl(loc)
        } else if isIdent("every") && !keywordUsedAsName {
            advance()
            e = try everyExpr(loc)
        } else {
            let t = try exprTerm(allowComma: true)
            e = Expr(.term(t), loc)
        }
        while isIdent("with") && !keywordUsedAsName {
            let wl = cur.loc
            advance()
            let target = try refTerm()
            guard isIdent("as") else { throw err("expected as keyword") }
            advance()
            let v = try exprTerm(allowComma: false, noAssign: true)
            e.withs.append(WithModifier(target: target, value: v, loc: wl))
        }
        return e
    }

    mutating func someDecl(_ loc: Location) throws -> Expr {
        let t1 = try relTerm()
        var t2: Term?
        if isOp(",") { advance(); t2 = try relTerm() }
        if isIdent("in") {
            advance()
            let coll = try relTerm()
            if let t2 = t2 { return Expr(.someIn(key: t1, value: t2, collection: coll), loc) }
            return Expr(.someIn(key: nil, value: t1, collection: coll), loc)
        }
        var vars: [Term] = [t1]
        if let t2 = t2 { vars.append(t2) }
        while isOp(",") { advance(); vars.append(try relTerm()) }
        for v in vars { guard case .variable = v.kind else { throw err("expected var in some declaration", v.loc) } }
        return Expr(.some(vars), loc)
    }

    mutating func everyExpr(_ loc: Location) throws -> Expr {
        let t1 = try relTerm()
        var key: Term?
        var val = t1
        if isOp(",") { advance(); key = t1; val = try relTerm() }
        guard isIdent("in") else { throw err("expected in keyword in every") }
        advance()
        let dom = try relTerm()
        guard isOp("{") else { throw err("expected { after every domain") }
        advance()
        let saveDepth = depth; depth = 0
        let body = try bodyUntil(eof: false)
        depth = saveDepth
        try expectOp("}")
        for t in [key, val].compactMap({ $0 }) { guard case .variable = t.kind else { throw err("every: key and value must be variables", t.loc) } }
        return Expr(.every(key: key, value: val, domain: dom, body: body), loc)
    }

    func call(_ name: String, _ args: [Term], _ loc: Location) -> Term { Term(.call(name, args), loc) }

    /// Lowest precedence: `:=` and `=`; then `in`; then relations; `|`; `&`; `+ -`; `* / %`.
    mutating func exprTerm(allowComma: Bool, noAssign: Bool = false) throws -> Term {
        let lhs = try inTerm(allowComma: allowComma)
        if noAssign { return lhs }
        if (isOp(":=") || isOp("=")) && !atLineEnd {
            let op = isOp(":=") ? "assign" : "eq"
            let l = cur.loc
            advance()
            let rhs = try inTerm(allowComma: false)
            return call(op, [lhs, rhs], l)
        }
        return lhs
    }

    mutating func inTerm(allowComma: Bool) throws -> Term {
        var lhs = try relTerm()
        if allowComma && isOp(",") && !atLineEnd {
            let save = p
            advance()
            let v = try relTerm()
            if isIdent("in") {
                let l = cur.loc
                advance()
                let coll = try relTerm()
                lhs = call("internal.member_3", [lhs, v, coll], l)
            } else { p = save; return lhs }
        }
        while isIdent("in") && !atLineEnd {
            let l = cur.loc
            advance()
            let coll = try relTerm()
            lhs = call("internal.member_2", [lhs, coll], l)
        }
        return lhs
    }

    static let relOps: [String: String] = ["==": "equal", "!=": "neq", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"]
    mutating func relTerm() throws -> Term {
        var lhs = try orTerm()
        while case .op(let o) = cur.kind, let name = Parser.relOps[o], !atLineEnd {
            let l = cur.loc; advance()
            lhs = call(name, [lhs, try orTerm()], l)
        }
        return lhs
    }
    mutating func orTerm() throws -> Term {
        var lhs = try andTerm()
        while isOp("|") && !atLineEnd && !noOr {
            let l = cur.loc; advance()
            lhs = call("or", [lhs, try andTerm()], l)
        }
        return lhs
    }
    var noOr = false
    mutating func andTerm() throws -> Term {
        var lhs = try arithTerm()
        while isOp("&") && !atLineEnd {
            let l = cur.loc; advance()
            lhs = call("and", [lhs, try arithTerm()], l)
        }
        return lhs
    }
    mutating func arithTerm() throws -> Term {
        var lhs = try factorTerm()
        while (isOp("+") || isOp("-")) && !atLineEnd {
            let name = isOp("+") ? "plus" : "minus"
            let l = cur.loc; advance()
            lhs = call(name, [lhs, try factorTerm()], l)
        }
        return lhs
    }
    mutating func factorTerm() throws -> Term {
        var lhs = try unaryTerm()
        while (isOp("*") || isOp("/") || isOp("%")) && !atLineEnd {
            let name = isOp("*") ? "mul" : (isOp("/") ? "div" : "rem")
            let l = cur.loc; advance()
            lhs = call(name, [lhs, try unaryTerm()], l)
        }
        return lhs
    }
    mutating func unaryTerm() throws -> Term {
        if isOp("-") {
            let l = cur.loc
            if case .number(let n) = next.kind, next.offset == cur.offset + 1 {
                advance(); advance()
                guard let num = Number(literal: "-" + n) else { throw err("invalid number", l) }
                return try postfix(Term(.scalar(.number(num)), l))
            }
            advance()
            let t = try unaryTerm()
            return call("minus", [Term(.scalar(.int(0)), l), t], l)
        }
        return try primary()
    }

    /// A reference term only (used by package, import and with targets).
    mutating func refTerm() throws -> Term {
        guard case .ident(let name) = cur.kind else { throw err("expected reference") }
        let l = cur.loc
        advance()
        return try postfix(Term(.variable(name), l), allowCall: false)
    }

    mutating func primary() throws -> Term {
        let t = cur
        let l = t.loc
        switch t.kind {
        case .number(let n):
            advance()
            guard let num = Number(literal: n) else { throw RegoError.unsupported("number literal \(n) beyond the exact decimal range", l) }
            return Term(.scalar(.number(num)), l)
        case .string(let s):
            advance()
            return try postfix(Term(.scalar(.string(s)), l))
        case .template(let raw, let body):
            advance()
            return Term(.template(try templateParts(body, raw: raw, l)), l)
        case .ident(let name):
            switch keywordUsedAsName && name != "set" ? "" : name {
            case "true": advance(); return Term(.scalar(.bool(true)), l)
            case "false": advance(); return Term(.scalar(.bool(false)), l)
            case "null": advance(); return Term(.scalar(.null), l)
            case "set":
                if case .op("(") = next.kind, case .op(")") = toks[min(p + 2, toks.count - 1)].kind {
                    advance(); advance(); advance()
                    return Term(.set([]), l)
                }
            default: break
            }
            if Parser.keywords.contains(name) && name != "set" && !keywordUsedAsName { throw err("unexpected \(name) keyword") }
            advance()
            return try postfix(Term(.variable(name), l))
        case .op("["):
            advance(); depth += 1
            if isOp("]") { depth -= 1; advance(); return try postfix(Term(.array([]), l)) }
            let saveNoOr = noOr; noOr = true
            let first = try exprTerm(allowComma: false, noAssign: true)
            noOr = saveNoOr
            if isOp("|") {
                advance()
                let body = try compBody(close: "]")
                return try postfix(Term(.arrayComp(first, body), l))
            }
            var items = [first]
            while isOp(",") {
                advance()
                if isOp("]") { break }
                items.append(try exprTerm(allowComma: false, noAssign: true))
            }
            depth -= 1
            try expectOp("]")
            return try postfix(Term(.array(items), l))
        case .op("{"):
            advance(); depth += 1
            if isOp("}") { depth -= 1; advance(); return try postfix(Term(.object([]), l)) }
            let saveNoOr = noOr; noOr = true
            let first = try exprTerm(allowComma: false, noAssign: true)
            noOr = saveNoOr
            if isOp(":") {
                advance()
                noOr = true
                let v = try exprTerm(allowComma: false, noAssign: true)
                noOr = saveNoOr
                if isOp("|") {
                    advance()
                    let body = try compBody(close: "}")
                    return try postfix(Term(.objectComp(first, v, body), l))
                }
                var pairs = [(first, v)]
                while isOp(",") {
                    advance()
                    if isOp("}") { break }
                    let k = try exprTerm(allowComma: false, noAssign: true)
                    try expectOp(":")
                    let vv = try exprTerm(allowComma: false, noAssign: true)
                    pairs.append((k, vv))
                }
                depth -= 1
                try expectOp("}")
                return try postfix(Term(.object(pairs), l))
            }
            if isOp("|") {
                advance()
                let body = try compBody(close: "}")
                return try postfix(Term(.setComp(first, body), l))
            }
            var items = [first]
            while isOp(",") {
                advance()
                if isOp("}") { break }
                items.append(try exprTerm(allowComma: false, noAssign: true))
            }
            depth -= 1
            try expectOp("}")
            return try postfix(Term(.set(items), l))
        case .op("("):
            advance(); depth += 1
            let saveNoOr = noOr; noOr = false
            let inner = try exprTerm(allowComma: true)
            noOr = saveNoOr
            depth -= 1
            try expectOp(")")
            return try postfix(inner)
        default:
            throw err("unexpected \(tokenText(t)) token")
        }
    }

    mutating func compBody(close: String) throws -> [Expr] {
        let saveDepth = depth
        depth = 0
        let saveNoOr = noOr; noOr = false
        var out: [Expr] = []
        while true {
            if isOp(close) { break }
            if isOp(";") { advance(); continue }
            out.append(try literal())
            if isOp(";") { advance(); continue }
            if isOp(close) { break }
            if !cur.newlineBefore { throw err("unexpected \(tokenText(cur)) token: expected expression separator") }
        }
        noOr = saveNoOr
        depth = saveDepth - 1
        if out.isEmpty { throw err("found empty body") }
        try expectOp(close)
        return out
    }

    /// `.name`, `[term]` and `(args)` after a primary term.
    mutating func postfix(_ base: Term, allowCall: Bool = true) throws -> Term {
        var head = base
        var segs: [Term] = []
        var dotted: String? = { if case .variable(let v) = base.kind { return v }; return nil }()
        while true {
            // Ref steps must be adjacent (no whitespace) as in OPA.
            let prevEnd = toks[p - 1].offset + tokenLength(toks[p - 1])
            let adjacent = cur.offset == prevEnd
            if isOp("."), adjacent {
                advance()
                guard case .ident(let s) = cur.kind else { throw err("expected identifier after '.'") }
                segs.append(Term(.scalar(.string(s)), cur.loc))
                if dotted != nil { dotted! += "." + s }
                advance()
            } else if isOp("["), adjacent {
                advance(); depth += 1
                let saveNoOr = noOr; noOr = false
                let t = try exprTerm(allowComma: false, noAssign: true)
                noOr = saveNoOr
                depth -= 1
                try expectOp("]")
                segs.append(t)
                dotted = nil
            } else if isOp("("), adjacent, allowCall {
                guard let name = dotted else { throw err("invalid call: function name must be a reference") }
                let l = head.loc
                advance(); depth += 1
                var args: [Term] = []
                let saveNoOr = noOr; noOr = false
                while !isOp(")") {
                    args.append(try exprTerm(allowComma: false, noAssign: true))
                    if isOp(",") { advance() } else { break }
                }
                noOr = saveNoOr
                depth -= 1
                try expectOp(")")
                head = Term(.call(name, args), l)
                segs = []
                dotted = nil
            } else { break }
        }
        if segs.isEmpty { return head }
        return Term(.ref(head, segs), base.loc)
    }

    func tokenLength(_ t: Token) -> Int {
        // Offsets of the next token tell adjacency; compute the source length of t.
        let lx = Lexer(file: "", text: "")
        _ = lx
        let bytes = source.text.utf8
        var i = bytes.index(bytes.startIndex, offsetBy: t.offset)
        var n = 0
        switch t.kind {
        case .ident(let s): return s.utf8.count
        case .number(let s): return s.utf8.count
        case .op(let o): return o.utf8.count
        case .eof: return 0
        case .string, .template:
            // Scan to the closing quote in the original text.
            let open = bytes[i]
            if open == UInt8(ascii: "$") { i = bytes.index(after: i); n += 1 }
            let q = bytes[i]
            i = bytes.index(after: i); n += 1
            var dep = 0
            while i < bytes.endIndex {
                let c = bytes[i]
                if q == UInt8(ascii: "\""), c == UInt8(ascii: "\\") { i = bytes.index(i, offsetBy: 2, limitedBy: bytes.endIndex) ?? bytes.endIndex; n += 2; continue }
                if open == UInt8(ascii: "$") { if c == UInt8(ascii: "{") { dep += 1 } else if c == UInt8(ascii: "}") { dep -= 1 } }
                n += 1
                if c == q && dep <= 0 { break }
                i = bytes.index(after: i)
            }
            return n
        }
    }

    /// Splits a template string body into text and `{term}` parts.
    func templateParts(_ body: String, raw: Bool, _ loc: Location) throws -> [TemplatePart] {
        var parts: [TemplatePart] = []
        var text: [UInt8] = []
        let b = Array(body.utf8)
        var i = 0
        while i < b.count {
            let c = b[i]
            if !raw && c == UInt8(ascii: "\\") && i + 1 < b.count {
                let e = b[i + 1]
                if e == UInt8(ascii: "{") || e == UInt8(ascii: "}") { text.append(e); i += 2; continue }
                // decode standard escapes via the lexer on a small string
                var j = i + 2
                if e == UInt8(ascii: "u") { j = min(b.count, i + 6) }
                var lx = Lexer(file: loc.file, text: "\"" + String(decoding: b[i..<j], as: UTF8.self) + "\"")
                guard let s = try? lx.lexString() else { throw err("invalid escape in template string", loc) }
                text.append(contentsOf: Array(s.utf8)); i = j; continue
            }
            if c == UInt8(ascii: "{") {
                var dep = 1
                var j = i + 1
                var inStr = false
                while j < b.count {
                    if inStr { if b[j] == UInt8(ascii: "\\") { j += 1 } else if b[j] == UInt8(ascii: "\"") { inStr = false } }
                    else if b[j] == UInt8(ascii: "\"") { inStr = true }
                    else if b[j] == UInt8(ascii: "{") { dep += 1 }
                    else if b[j] == UInt8(ascii: "}") { dep -= 1; if dep == 0 { break } }
                    j += 1
                }
                guard j < b.count else { throw err("unterminated template expression", loc) }
                if !text.isEmpty { parts.append(.text(String(decoding: text, as: UTF8.self))); text = [] }
                let inner = String(decoding: b[(i + 1)..<j], as: UTF8.self)
                guard var ps = try? Parser(source: SourceFile(name: loc.file, text: inner)),
                      let t = try? ps.exprTerm(allowComma: false), case .eof = ps.cur.kind else {
                    throw RegoError.unsupported("this template string expression", loc)
                }
                parts.append(.term(relocate(t, loc)))
                i = j + 1
                continue
            }
            text.append(c); i += 1
        }
        if !text.isEmpty { parts.append(.text(String(decoding: text, as: UTF8.self))) }
        return parts
    }

    func relocate(_ t: Term, _ loc: Location) -> Term { var t = t; t.loc = loc; return t }
}
