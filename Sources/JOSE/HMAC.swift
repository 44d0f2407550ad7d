import COpenSSL

/// HMAC-SHA256 through OpenSSL (`EVP_Q_mac`). Here rather than in PolicyStore because JOSE is
/// the module that owns the system OpenSSL (DESIGN.md: PolicyStore imports RegoLite only); the
/// Gateway, which imports both, verifies webhook signatures with `WebhookSignature` below.
public enum HMACSHA256 {
    /// The 32-byte MAC of `message` under `key`.
    public static func mac(key: [UInt8], message: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length = 0
        let ok = key.withUnsafeBytes { k in
            out.withUnsafeMutableBytes { o in
                // An empty key is a valid HMAC key; OpenSSL wants a non-null pointer for it.
                var zero: UInt8 = 0
                return withUnsafeMutablePointer(to: &zero) { z in
                    EVP_Q_mac(nil, "HMAC", nil, "SHA256", nil, k.baseAddress ?? UnsafeRawPointer(z), k.count,
                              message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count,
                              o.baseAddress!.assumingMemoryBound(to: UInt8.self), 32, &length)
                }
            }
        }
        precondition(ok != nil && length == 32, "OpenSSL HMAC-SHA256 failed")
        return out
    }

    public static func mac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { mac(key: key, message: $0) }
    }

    /// Equal length and bytes, in time that depends on the length only.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

/// GitHub-style webhook signatures: `X-Hub-Signature-256: sha256=<64 hex digits>`, an
/// HMAC-SHA256 of the raw request body with the shared secret.
public enum WebhookSignature {
    public static let headerName = "X-Hub-Signature-256"

    /// The header value for `body` (`sha256=` + lower-case hex).
    public static func sign(body: [UInt8], secret: [UInt8]) -> String {
        "sha256=" + hex(HMACSHA256.mac(key: secret, message: body))
    }

    /// Whether `header` (the `X-Hub-Signature-256` value, nil when absent) signs `body` with
    /// `secret`. Hex digits of either case are accepted; the MACs are compared in constant time.
    public static func verify(header: String?, body: [UInt8], secret: [UInt8]) -> Bool {
        guard let header, header.hasPrefix("sha256="), let given = parseHex(header.utf8.dropFirst(7)), given.count == 32 else {
            return false
        }
        return HMACSHA256.constantTimeEqual(given, HMACSHA256.mac(key: secret, message: body))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    static func parseHex<S: Collection>(_ text: S) -> [UInt8]? where S.Element == UInt8 {
        guard text.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var iterator = text.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            guard let h = nibble(high), let l = nibble(low) else { return nil }
            out.append(h << 4 | l)
        }
        return out
    }
}
