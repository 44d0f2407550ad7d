/// Header-value helpers on UTF-8 bytes: Foundation's `trimmingCharacters` bridges through UTF-16
/// and cost a quarter of the request path's CPU on a 1 KB bearer token.
extension StringProtocol {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    @inline(__always) func trimmingOWS() -> Substring {
        let s = Substring(self)
        let utf8 = s.utf8
        var start = utf8.startIndex, end = utf8.endIndex
        while start < end, utf8[start] == 0x20 || utf8[start] == 0x09 { start = utf8.index(after: start) }
        while end > start {
            let before = utf8.index(before: end)
            guard utf8[before] == 0x20 || utf8[before] == 0x09 else { break }
            end = before
        }
        return Substring(utf8[start..<end])
    }
}

extension String {
    /// Lower-cased for ASCII letters only (header names are ASCII tokens); the string itself when
    /// it has no upper-case letter, which is most names on the wire, so no new string is made.
    @inline(__always) var asciiLowercased: String {
        guard utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5a }) else { return self }
        return String(decoding: utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}

/// Comparisons of header names and tokens as bytes, without lower-cased copies.
enum ASCII {
    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { b &- 0x41 < 26 ? b | 0x20 : b }

    /// `text` equals `lowercase` (lower-case ASCII) ignoring ASCII case; with `dashes`, a `_` in
    /// `text` also matches a `-`.
    @inline(__always) static func equal<S: Collection<UInt8>>(_ text: S, _ lowercase: StaticString, dashes: Bool = false) -> Bool {
        let count = lowercase.utf8CodeUnitCount
        guard text.count == count else { return false }
        let expected = lowercase.utf8Start
        var i = 0
        for b in text {
            var c = lower(b)
            if dashes && c == 0x5f { c = 0x2d }
            if c != expected[i] { return false }
            i += 1
        }
        return true
    }

    /// As above with a lower-case `String`.
    @inline(__always) static func equal<S: Collection<UInt8>>(_ text: S, _ lowercase: String, dashes: Bool = false) -> Bool {
        guard text.count == lowercase.utf8.count else { return false }
        for (b, e) in zip(text, lowercase.utf8) {
            var c = lower(b)
            if dashes && c == 0x5f { c = 0x2d }
            if c != e { return false }
        }
        return true
    }

    /// Both equal ignoring ASCII case.
    @inline(__always) static func equalIgnoringCase<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where lower(x) != lower(y) { return false }
        return true
    }
}
