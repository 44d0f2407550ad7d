/// Parsers for the value syntaxes of routes.yaml that are not plain YAML types. Each returns the
/// value or a message saying what was expected.
enum ValueParsers {
    static let durationHelp = "a duration such as 250ms, 2s, 5m, 1h, 1d, 1h30m, or a number of seconds"
    static let sizeHelp = "a size in bytes such as 16384, or with a unit: 512KiB, 10MiB, 1GiB, 64KB, 1GB"
    /// Durations above this are refused: nothing here needs more, and it keeps every value exact
    /// in nanoseconds and far from overflow when the gateway converts it.
    static let maxDuration: Double = 365 * 86_400

    /// `250ms`, `2s`, `1.5s`, `5m`, `1h`, `1d`, `1h30m` (units may be combined, largest first is
    /// not required), or a bare number of seconds (`30`, `0.5`).
    static func duration(_ text: String) -> Result<Double, Failure> {
        let s = text.trimmingWhitespace
        guard !s.isEmpty else { return .failure(Failure("expected \(durationHelp), got an empty string")) }
        if s.hasPrefix("-") { return .failure(Failure("a duration cannot be negative ('\(s.debugEscaped)')")) }
        if let seconds = plainNumber(s) { return checked(seconds, text: s) }
        var total = 0.0
        var rest = Substring(s)
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(unit.count)
            guard !number.isEmpty, let value = plainNumber(String(number)) else {
                return .failure(Failure("expected \(durationHelp), got '\(s.debugEscaped)'"))
            }
            let scale: Double
            switch unit {
            case "ms": scale = 0.001
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            case "d": scale = 86_400
            case "" where rest.isEmpty:
                return .failure(Failure("'\(s.debugEscaped)' needs a unit after \(number) (ms, s, m, h or d)"))
            case "":
                return .failure(Failure("expected \(durationHelp), got '\(s.debugEscaped)'"))
            default:
                return .failure(Failure("unknown duration unit '\(String(unit).debugEscaped)' in '\(s.debugEscaped)' (use ms, s, m, h or d)"))
            }
            total += value * scale
        }
        return checked(total, text: s)
    }

    private static func checked(_ seconds: Double, text: String) -> Result<Double, Failure> {
        guard seconds.isFinite, seconds <= maxDuration else {
            return .failure(Failure("duration '\(text.debugEscaped)' is too long (at most 365d)"))
        }
        return .success(seconds)
    }

    /// Digits with an optional fraction, no sign, no exponent: `30`, `0.5`, `.5`.
    private static func plainNumber(_ s: String) -> Double? {
        var dots = 0
        var digits = 0
        for c in s.utf8 {
            if c == UInt8(ascii: ".") { dots += 1 } else if c >= 48 && c <= 57 { digits += 1 } else { return nil }
        }
        guard dots <= 1, digits > 0 else { return nil }
        return Double(s)
    }

    /// `16384`, `512KiB`, `10MiB`, `1GiB`, `2TiB` (powers of 1024), `64KB`, `10MB`, `1GB`, `1TB`
    /// (powers of 1000), `100B`; the prefix letters are case-insensitive, the `B` is not (`Mb`
    /// would be megabits), and a space may come before the unit. Whole numbers only; the result
    /// must be at least 1 and fit in 63 bits.
    static func size(_ text: String) -> Result<Int64, Failure> {
        let s = text.trimmingWhitespace
        let digits = s.prefix { $0.isASCII && $0.isNumber }
        let unit = s.dropFirst(digits.count).trimmingWhitespace
        guard !digits.isEmpty else {
            if s.hasPrefix("-") { return .failure(Failure("a size cannot be negative ('\(s.debugEscaped)')")) }
            return .failure(Failure("expected \(sizeHelp), got '\(s.debugEscaped)'"))
        }
        if unit.hasPrefix(".") || unit.hasPrefix(",") {
            return .failure(Failure("'\(s.debugEscaped)': sizes are whole numbers; use a smaller unit (e.g. 1536KiB for 1.5MiB)"))
        }
        if unit.hasSuffix("b") {
            return .failure(Failure("'\(s.debugEscaped)': sizes are in bytes, written with a capital B (KiB, MiB, KB, MB...); 'b' would be bits"))
        }
        let multiplier: Int64
        switch unit.lowercased() {
        case "", "b": multiplier = 1
        case "kib": multiplier = 1 << 10
        case "mib": multiplier = 1 << 20
        case "gib": multiplier = 1 << 30
        case "tib": multiplier = 1 << 40
        case "kb": multiplier = 1_000
        case "mb": multiplier = 1_000_000
        case "gb": multiplier = 1_000_000_000
        case "tb": multiplier = 1_000_000_000_000
        default:
            return .failure(Failure("unknown size unit '\(unit.debugEscaped)' in '\(s.debugEscaped)' (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)"))
        }
        guard let value = Int64(digits) else { return .failure(Failure("size '\(s.debugEscaped)' is too large")) }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return .failure(Failure("size '\(s.debugEscaped)' is too large")) }
        guard bytes > 0 else { return .failure(Failure("size must be greater than 0")) }
        return .success(bytes)
    }

    struct Failure: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }
}

extension StringProtocol {
    var trimmingWhitespace: String {
        let scalars = String(self).unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}
