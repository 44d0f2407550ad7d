import Foundation
import JOSE

/// UUIDs for token ids, sessions and users without an `id` in the realm file.
enum Identifiers {
    static func randomUUID() -> String { UUID().uuidString.lowercased() }

    /// A UUID derived from `name` (SHA-256, RFC 9562 version 8): the same user or service account
    /// keeps the same `sub` across restarts of the dev issuer.
    static func stableUUID(_ name: String) -> String {
        let digest = SHA256Digest(of: "portcullis-devidp:" + name)
        var bytes = withUnsafeBytes(of: digest.words) { Array($0.prefix(16)) }
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        let h = Array(hex)
        return String(h[0..<8]) + "-" + String(h[8..<12]) + "-" + String(h[12..<16]) + "-" + String(h[16..<20]) + "-" + String(h[20..<32])
    }
}

/// Comparison whose time does not depend on where the inputs differ: both sides are hashed first,
/// so neither a common prefix nor the length of the secret shows in the timing.
enum ConstantTime {
    static func equals(_ given: String, _ expected: String) -> Bool {
        let a = SHA256Digest(of: given).words, b = SHA256Digest(of: expected).words
        let difference = (a.0 ^ b.0) | (a.1 ^ b.1) | (a.2 ^ b.2) | (a.3 ^ b.3)
        return difference == 0
    }
}
