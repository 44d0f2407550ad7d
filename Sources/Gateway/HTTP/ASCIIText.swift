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

    /// ASCII case-insensitive equality with a lower-case ASCII literal.
    @inline(__always) func equalsIgnoringASCIICase(_ lowercase: String) -> Bool {
        guard utf8.count == lowercase.utf8.count else { return false }
        return zip(utf8, lowercase.utf8).allSatisfy { a, b in (a >= 0x41 && a <= 0x5a ? a | 0x20 : a) == b }
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
