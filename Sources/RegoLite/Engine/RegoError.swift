/// Every error a policy author can see: an OPA error code, a message, where, and the source
/// line with a caret under the position.
public struct RegoError: Error, Sendable, CustomStringConvertible, Equatable {
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }
        public static let parse = Code(rawValue: "rego_parse_error")
        public static let compile = Code(rawValue: "rego_compile_error")
        public static let unsafeVar = Code(rawValue: "rego_unsafe_var_error")
        public static let recursion = Code(rawValue: "rego_recursion_error")
        public static let type = Code(rawValue: "rego_type_error")
        /// A construct outside RegoLite's subset: never evaluated with a different meaning.
        public static let unsupported = Code(rawValue: "rego_unsupported_error")
        public static let evalConflict = Code(rawValue: "eval_conflict_error")
        public static let evalType = Code(rawValue: "eval_type_error")
        public static let evalBuiltin = Code(rawValue: "eval_builtin_error")
        public static let evalLimit = Code(rawValue: "eval_limit_error")
        public static let evalCancel = Code(rawValue: "eval_cancel_error")
        public static let evalInternal = Code(rawValue: "eval_internal_error")
    }

    public var code: Code
    public var message: String
    public var location: Location?
    /// The offending source line and a caret, when the source is known.
    public var excerpt: String?

    public init(code: Code, message: String, location: Location? = nil, excerpt: String? = nil) {
        self.code = code; self.message = message; self.location = location; self.excerpt = excerpt
    }

    public var isUnsupported: Bool { code == .unsupported }

    /// `file:line:col: code: message` (OPA prints `file:line:` for eval errors).
    public var description: String {
        var s = ""
        if let l = location, l.line > 0 {
            if code.rawValue.hasPrefix("eval_") { s = "\(l.file):\(l.line): " } else { s = "\(l.file):\(l.line):\(l.column): " }
        }
        s += "\(code.rawValue): \(message)"
        return s
    }

    /// The description followed by the source line and caret.
    public var detailed: String {
        guard let e = excerpt else { return description }
        return description + "\n" + e
    }

    static func unsupported(_ what: String, _ loc: Location?) -> RegoError {
        RegoError(code: .unsupported, message: "unsupported in RegoLite: \(what)", location: loc)
    }
}

/// Several errors from one stage (the compiler reports all it finds).
public struct RegoErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [RegoError]
    public init(_ e: [RegoError]) { errors = e }
    public var description: String {
        errors.count == 1 ? errors[0].description : "\(errors.count) errors occurred:\n" + errors.map(\.description).joined(separator: "\n")
    }
}
