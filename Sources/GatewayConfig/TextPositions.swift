import Yams

/// A place in the text: 1-based line, and column counted in Unicode scalars (as libyaml does).
struct Position: Equatable {
    var line: Int
    var column: Int

    init(line: Int, column: Int) { self.line = line; self.column = column }
    init(_ mark: Mark) { self.init(line: mark.line, column: mark.column) }
}

/// Positions in the text (lines and columns 1-based, columns in Unicode scalars like libyaml).
enum TextPositions {
    static func position(atUTF8Offset offset: Int, in text: String) -> Position {
        var line = 1
        var column = 1
        var consumed = 0
        for scalar in text.unicodeScalars {
            if consumed >= offset { break }
            consumed += UTF8.width(scalar)
            if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return Position(line: line, column: column)
    }

    static func line(_ number: Int, in text: String) -> Substring? {
        var current = 1
        var start = text.startIndex
        while current < number {
            guard let newline = text[start...].firstIndex(of: "\n") else { return nil }
            start = text.index(after: newline)
            current += 1
        }
        let end = text[start...].firstIndex(of: "\n") ?? text.endIndex
        return text[start..<end]
    }

    static func character(at position: Position, in text: String) -> Character? {
        guard let line = line(position.line, in: text) else { return nil }
        let scalars = line.unicodeScalars
        guard position.column >= 1, position.column <= scalars.count else { return nil }
        return Character(scalars[scalars.index(scalars.startIndex, offsetBy: position.column - 1)])
    }

    /// Where a block-mapping key written at `first` is written again in the same mapping: the
    /// next line that starts at the same column with the same key before its `:`, before the
    /// mapping ends (a non-blank line starting further left). nil for flow mappings or when not found.
    static func repeatedKey(_ key: String, firstAt first: Position, in text: String) -> (position: Position, length: Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard first.line >= 1, first.line <= lines.count else { return nil }
        var number = first.line
        for line in lines.dropFirst(first.line) {
            number += 1
            let scalars = Array(line.unicodeScalars)
            guard let indent = scalars.firstIndex(where: { $0 != " " && $0 != "-" }) else { continue }
            if scalars[indent] == "#" { continue }
            if let firstNonSpace = scalars.firstIndex(where: { $0 != " " }), firstNonSpace < first.column - 1 { return nil }
            guard indent == first.column - 1 else { continue }
            let rest = String(String.UnicodeScalarView(scalars[indent...]))
            for candidate in [key, "\"\(key)\"", "'\(key)'"] where rest.hasPrefix(candidate) {
                let after = rest.dropFirst(candidate.count).drop { $0 == " " }
                if after.hasPrefix(":") { return (Position(line: number, column: indent + 1), candidate.unicodeScalars.count) }
            }
        }
        return nil
    }

    /// Scalars that replace a repeated key so the rest of the file can still be checked; keys
    /// starting with one are skipped by the reader. Private-use characters: never in real keys.
    static let maskRange: ClosedRange<UInt32> = 0xE000...0xEFFF

    /// `text` with `length` scalars at `position` replaced by a mask unique to `serial`.
    static func masking(_ text: String, at position: Position, length: Int, serial: Int) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.unicodeScalars) }
        let index = position.line - 1
        let start = position.column - 1
        guard lines.indices.contains(index), start >= 0, length > 0, start + length <= lines[index].count else { return text }
        let first = Unicode.Scalar(maskRange.lowerBound + UInt32(serial) % UInt32(maskRange.count))!
        let filler = Unicode.Scalar(maskRange.lowerBound)!
        lines[index].replaceSubrange(start..<start + length, with: [first] + Array(repeating: filler, count: length - 1))
        return lines.map { String(String.UnicodeScalarView($0)) }.joined(separator: "\n")
    }
}

extension TextPositions {
    /// The text, or the offset of the first byte that is not valid UTF-8.
    static func decodeUTF8(_ bytes: [UInt8]) -> Result<String, InvalidUTF8> {
        if let text = String(validating: bytes, as: UTF8.self) { return .success(text) }
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .emptyInput: return .failure(InvalidUTF8(offset: offset))
            case .error: return .failure(InvalidUTF8(offset: offset))
            }
        }
    }

    struct InvalidUTF8: Error {
        let offset: Int
    }

    /// Line and column of a byte offset in possibly invalid UTF-8 (the valid prefix is counted).
    static func position(ofByte offset: Int, in bytes: [UInt8]) -> Position {
        position(atUTF8Offset: offset, in: String(decoding: bytes.prefix(offset), as: UTF8.self))
    }
}
