import Foundation

/// What counts as a credential in a decision record (`ScrubbingWriter` leaves them out).
enum CredentialScrubber {
    static let hiddenHeaders: [String] = ["authorization", "proxy-authorization", "cookie", "set-cookie"]

    /// Case-insensitive, without allocating.
    static func isHiddenHeader(_ name: String) -> Bool {
        let count = name.utf8.count
        guard count == 6 || count == 10 || count == 13 || count == 19 else { return false }
        return hiddenHeaders.contains { hidden in
            hidden.utf8.count == count && zip(hidden.utf8, name.utf8).allSatisfy { $0 == ($1 | 0x20) || $0 == $1 }
        }
    }

    @inline(__always) static func isSecret(_ s: String, _ credentials: [String]) -> Bool {
        if !credentials.isEmpty {
            for c in credentials where c.utf8.count >= 8 && s.utf8.count >= c.utf8.count && s.contains(c) { return true }
        }
        return containsCompactJWS(s)
    }

    /// `eyJ` followed by base64url, a dot, base64url, a dot (a JWS header always starts `{"`).
    static func containsCompactJWS(_ s: String) -> Bool {
        guard s.utf8.count >= 10 else { return false }
        if let found = s.utf8.withContiguousStorageIfAvailable({ containsCompactJWS(bytes: $0) }) { return found }
        return Array(s.utf8).withUnsafeBufferPointer { containsCompactJWS(bytes: $0) }
    }

    static func containsCompactJWS(bytes b: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i + 3 <= b.count {
            if b[i] == UInt8(ascii: "e"), b[i + 1] == UInt8(ascii: "y"), b[i + 2] == UInt8(ascii: "J") {
                var j = i + 3
                var dots = 0
                var segment = 3
                while j < b.count {
                    let c = b[j]
                    if c == UInt8(ascii: ".") {
                        if segment == 0 { break }
                        dots += 1
                        segment = 0
                        if dots == 2 { return true }
                    } else if isBase64URL(c) {
                        segment += 1
                    } else { break }
                    j += 1
                }
            }
            i += 1
        }
        return false
    }

    @inline(__always) static func isBase64URL(_ c: UInt8) -> Bool {
        (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 45 || c == 95
    }

    /// Strings outside the input (reasons, error) keep their text with the secret replaced.
    static func redact(_ s: String, credentials: [String]) -> String {
        var out = s
        for c in credentials where c.utf8.count >= 8 && out.contains(c) { out = out.replacingOccurrences(of: c, with: "[REDACTED]") }
        if containsCompactJWS(out) { return "[REDACTED]" }
        return out
    }

    static func escape(_ token: String) -> String {
        token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}
