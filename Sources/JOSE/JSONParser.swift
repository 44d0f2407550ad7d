/// A strict RFC 8259 JSON parser for token headers, claims and key sets.
///
/// Stricter than Foundation's `JSONSerialization` where it matters for security: an object
/// with a duplicate member name is an error (RFC 7515 §5.2 allows rejecting it, and two
/// parsers disagreeing on "which `alg` wins" is an attack), strings must be valid UTF-8 with
/// no lone surrogates, nesting is bounded, and nothing but white space may follow the value.
public struct JSONParser {
    public struct Error: Swift.Error, Hashable, Sendable, CustomStringConvertible {
        public let message: String
        public let offset: Int
        public var description: String { "\(message) at byte \(offset)" }
    }

    public static let defaultMaxDepth = 64

    /// Parses one JSON document.
    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(Error) -> JSONValue {
        var text = text
        return try text.withUTF8Bytes { (buffer) throws(Error) -> JSONValue in
            try parse(buffer, maxDepth: maxDepth)
        }
    }

    /// Parses one JSON document.
    public static func parse<Bytes: Collection>(bytes: Bytes, maxDepth: Int = defaultMaxDepth) throws(Error) -> JSONValue where Bytes.Element == UInt8 {
        let result: Result<JSONValue, Error>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(Error) -> JSONValue in try parse(UnsafeRawBufferPointer(buffer), maxDepth: maxDepth) }
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        return try copy.withBytes { (raw) throws(Error) -> JSONValue in try parse(raw, maxDepth: maxDepth) }
    }

    /// Validates a whole JSON object with the same strictness as `parse`, but builds only the
    /// top-level members named in `members` (nested values of other members are checked, not
    /// kept). Verifying a token needs five registered claims; building all of them as Swift
    /// values costs more than the rest of the verification outside OpenSSL.
    public static func parseObject(_ input: UnsafeRawBufferPointer, keeping members: Set<String>,
                                   maxDepth: Int = defaultMaxDepth) throws(Error) -> JSONObject? {
        var parser = JSONParser(input: input, maxDepth: maxDepth)
        parser.selection = members.map { (Self.fingerprint($0), $0) }
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.index != input.count { throw parser.error("unexpected data after the JSON value") }
        return value.objectValue
    }

    /// Parses one JSON document.
    public static func parse(_ input: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws(Error) -> JSONValue {
        var parser = JSONParser(input: input, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.index != input.count { throw parser.error("unexpected data after the JSON value") }
        return value
    }

    private let input: UnsafeRawBufferPointer
    private let maxDepth: Int
    private var index = 0
    /// Top-level members to build (nil: build everything), with their fingerprints: a linear
    /// scan of five names beats hashing every member name.
    private var selection: [(fingerprint: UInt32, name: String)]? = nil

    private static func isSelected(_ key: String, fingerprint: UInt32, in selection: [(fingerprint: UInt32, name: String)]) -> Bool {
        for entry in selection where entry.fingerprint == fingerprint && entry.name == key { return true }
        return false
    }
    /// False while checking a value that will not be kept: strings, numbers and containers
    /// are validated but not built (member names still are, for duplicate detection).
    private var materializing = true

    private init(input: UnsafeRawBufferPointer, maxDepth: Int) {
        self.input = input
        self.maxDepth = maxDepth
        memberStack.reserveCapacity(32)
        fingerprintStack.reserveCapacity(32)
        elementStack.reserveCapacity(16)
    }

    private func error(_ message: String) -> Error { Error(message: message, offset: index) }

    private var current: UInt8? { index < input.count ? input[index] : nil }

    private mutating func skipWhitespace() {
        while index < input.count {
            switch input[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(Error) -> JSONValue {
        guard let byte = current else { throw error("unexpected end of JSON") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""):
            let string = try parseString(keep: materializing)
            return materializing ? .string(string) : .null
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let number = try parseNumber(keep: materializing)
            return materializing ? .number(number) : .null
        default: throw error("unexpected character '\(Self.printable(byte))'")
        }
    }

    private static func printable(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(Error) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= input.count else { throw error("invalid literal") }
        let bytes = literal.utf8Start
        for i in 0..<count where input[index + i] != bytes[i] { throw error("invalid literal") }
        index += count
    }

    // Members and elements of the objects and arrays being parsed, as stacks shared by every
    // nesting level: each container is then allocated once, at its exact size, instead of
    // growing (a 25-claim token would otherwise reallocate its member array five times).
    private var memberStack: [JSONObject.Member] = []
    private var fingerprintStack: [UInt32] = []
    private var elementStack: [JSONValue] = []

    private mutating func parseObject(depth: Int) throws(Error) -> JSONValue {
        if depth > maxDepth { throw error("JSON nested deeper than \(maxDepth) levels") }
        index += 1
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            index += 1
            return .object(JSONObject(uniqueMembers: []))
        }
        let base = memberStack.count
        defer {
            memberStack.removeLast(memberStack.count - base)
            fingerprintStack.removeLast(fingerprintStack.count - base)
        }
        // Duplicate detection: a cheap fingerprint (length and first byte) filters the
        // linear scan for the small objects of tokens; a set guards large, hostile ones.
        var seen: Set<String>? = nil
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a member name") }
            let keyOffset = index
            let key = try parseString()
            let fingerprint = Self.fingerprint(key)
            if seen != nil {
                if !seen!.insert(key).inserted {
                    throw Error(message: "duplicate member name \"\(key)\"", offset: keyOffset)
                }
            } else {
                for i in base..<fingerprintStack.count where fingerprintStack[i] == fingerprint && memberStack[i].key == key {
                    throw Error(message: "duplicate member name \"\(key)\"", offset: keyOffset)
                }
                if fingerprintStack.count - base == 63 { seen = Set(memberStack[base...].map(\.key) + [key]) }
            }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':'") }
            index += 1
            skipWhitespace()
            let outer = materializing
            if depth == 1, let selection { materializing = Self.isSelected(key, fingerprint: fingerprint, in: selection) }
            let value = try parseValue(depth: depth)
            materializing = outer
            memberStack.append(JSONObject.Member(key: key, value: value))
            fingerprintStack.append(fingerprint)
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                guard materializing else { return .null }
                if depth == 1, let selection {
                    let kept = (base..<memberStack.count).filter { Self.isSelected(memberStack[$0].key, fingerprint: fingerprintStack[$0], in: selection) }
                    return .object(JSONObject(uniqueMembers: kept.map { memberStack[$0] }))
                }
                return .object(JSONObject(uniqueMembers: Array(memberStack[base...])))
            default: throw error("expected ',' or '}'")
            }
        }
    }

    private static func fingerprint(_ key: String) -> UInt32 {
        let utf8 = key.utf8
        guard let first = utf8.first else { return 0 }
        return UInt32(truncatingIfNeeded: utf8.count) << 8 | UInt32(first)
    }

    private mutating func parseArray(depth: Int) throws(Error) -> JSONValue {
        if depth > maxDepth { throw error("JSON nested deeper than \(maxDepth) levels") }
        index += 1
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            index += 1
            return .array([])
        }
        let base = elementStack.count
        defer { elementStack.removeLast(elementStack.count - base) }
        while true {
            skipWhitespace()
            let element = try parseValue(depth: depth)
            if materializing { elementStack.append(element) }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return materializing ? .array(Array(elementStack[base...])) : .null
            default: throw error("expected ',' or ']'")
            }
        }
    }

    /// Parses and validates a string; with `keep` false the result is "" (nothing allocated).
    private mutating func parseString(keep: Bool = true) throws(Error) -> String {
        let start = index + 1  // after the opening quote
        // Fast path: no escapes, no control characters; ASCII needs no UTF-8 validation.
        var i = start
        var highBits: UInt8 = 0
        let count = input.count
        while i < count {
            let byte = input[i]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeRawBufferPointer(rebasing: input[start..<i])
                index = i + 1
                guard highBits < 0x80 || UTF8Validation.isValid(slice) else {
                    throw Error(message: "invalid UTF-8 in string", offset: start)
                }
                return keep ? String(decoding: slice, as: UTF8.self) : ""
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            highBits |= byte
            i += 1
        }
        index = i
        var bytes = [UInt8](UnsafeRawBufferPointer(rebasing: input[start..<index]))
        while true {
            guard index < input.count else { throw error("unterminated string") }
            let byte = input[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                let valid = bytes.withUnsafeBytes { UTF8Validation.isValid($0) }
                guard valid else { throw Error(message: "invalid UTF-8 in string", offset: start) }
                return keep ? String(decoding: bytes, as: UTF8.self) : ""
            case UInt8(ascii: "\\"):
                index += 1
                guard let escape = current else { throw error("unterminated escape") }
                index += 1
                switch escape {
                case UInt8(ascii: "\""): bytes.append(0x22)
                case UInt8(ascii: "\\"): bytes.append(0x5C)
                case UInt8(ascii: "/"): bytes.append(0x2F)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard index + 1 < input.count, input[index] == UInt8(ascii: "\\"), input[index + 1] == UInt8(ascii: "u") else {
                            throw error("lone surrogate in \\u escape")
                        }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("lone surrogate in \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw error("lone surrogate in \\u escape")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                    bytes.append(contentsOf: UTF8.encode(unicode)!)
                default:
                    throw error("invalid escape '\\\(Self.printable(escape))'")
                }
            default:
                if byte < 0x20 { throw error("control character in string") }
                bytes.append(byte)
                index += 1
            }
        }
    }

    private mutating func parseHex4() throws(Error) -> UInt32 {
        guard index + 4 <= input.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = input[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// Parses and validates a number; with `keep` false integers are not turned into text.
    private mutating func parseNumber(keep: Bool = true) throws(Error) -> JSONNumber {
        let start = index
        var isInteger = true
        var integer: Int64 = 0
        var negative = false
        if current == UInt8(ascii: "-") { negative = true; index += 1 }
        guard let first = current, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else {
            throw error("invalid number")
        }
        if first == UInt8(ascii: "0") {
            index += 1
            if let next = current, next >= UInt8(ascii: "0"), next <= UInt8(ascii: "9") {
                throw error("leading zero in number")
            }
        } else {
            var digits = 0
            while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                if digits < 15 { integer = integer * 10 + Int64(byte - UInt8(ascii: "0")) }
                digits += 1
                index += 1
            }
            if digits >= 15 { isInteger = false }
        }
        if current == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw error("expected a digit after '.'")
            }
            while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw error("expected a digit in the exponent")
            }
            while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        }
        if isInteger && !keep { return JSONNumber(text: "", double: 0) }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: input[start..<index]), as: UTF8.self)
        if isInteger { return JSONNumber(text: text, double: Double(negative ? -integer : integer)) }
        guard let double = Double(text), double.isFinite else {
            throw Error(message: "number out of range", offset: start)
        }
        return JSONNumber(text: text, double: double)
    }
}
