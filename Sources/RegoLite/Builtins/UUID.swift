import Foundation

/// `uuid.parse` (the forms Go's `github.com/google/uuid` accepts) and `uuid.rfc4122` (a random
/// version 4 UUID, the same for the same key within one query, as OPA caches it).
enum UUIDBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        r.add("uuid.rfc4122", 1, nondeterministic: true) { ctx, a in
            let key = try a.string(0)
            if let v = ctx.memo["uuid.rfc4122:" + key] { return v }
            var g = SystemRandomNumberGenerator()
            var b = (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) }
            b[6] = (b[6] & 0x0f) | 0x40
            b[8] = (b[8] & 0x3f) | 0x80
            let v = Value.string(format(b))
            ctx.memo["uuid.rfc4122:" + key] = v
            return v
        }
        r.add("uuid.parse", 1) { _, a in
            let s = try a.string(0)
            guard let b = parse(s) else { throw BuiltinError.builtin("invalid UUID format: \(s)") }
            return describe(b)
        }
    }

    static func format(_ b: [UInt8]) -> String {
        let h = b.map { String(format: "%02x", $0) }
        return h[0..<4].joined() + "-" + h[4..<6].joined() + "-" + h[6..<8].joined() + "-" + h[8..<10].joined() + "-" + h[10..<16].joined()
    }

    /// The 16 bytes of `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, optionally in `{}` or after
    /// `urn:uuid:`, or of 32 hex digits.
    static func parse(_ str: String) -> [UInt8]? {
        var s = Array(str.utf8)
        switch s.count {
        case 36: break
        case 45:
            guard String(decoding: s[0..<9], as: UTF8.self).lowercased() == "urn:uuid:" else { return nil }
            s = Array(s[9...])
        case 38:
            // `{...}`: Go's parser skips the first and last byte without checking them, so do we.
            s = Array(s[1..<37])
        case 32:
            var out: [UInt8] = []
            for i in 0..<16 { guard let v = hexByte(s[i * 2], s[i * 2 + 1]) else { return nil }; out.append(v) }
            return out
        default: return nil
        }
        for i in [8, 13, 18, 23] where s[i] != UInt8(ascii: "-") { return nil }
        var out: [UInt8] = []
        for x in [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34] {
            guard let v = hexByte(s[x], s[x + 1]) else { return nil }
            out.append(v)
        }
        return out
    }

    static func hexByte(_ a: UInt8, _ b: UInt8) -> UInt8? {
        func nib(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        guard let x = nib(a), let y = nib(b) else { return nil }
        return x << 4 | y
    }

    static func describe(_ b: [UInt8]) -> Value {
        let version = Int(b[6] >> 4)
        let variant: String
        if b[8] & 0xc0 == 0x80 { variant = "RFC4122" }
        else if b[8] & 0xe0 == 0xc0 { variant = "Microsoft" }
        else if b[8] & 0xe0 == 0xe0 { variant = "Future" }
        else { variant = "Reserved" }
        var pairs: [(Value, Value)] = [(.string("version"), .int(version)), (.string("variant"), .string(variant))]
        if version == 1 || version == 2 {
            let low = Int64(b[0]) << 24 | Int64(b[1]) << 16 | Int64(b[2]) << 8 | Int64(b[3])
            let mid = Int64(b[4]) << 8 | Int64(b[5])
            let hi = (Int64(b[6]) << 8 | Int64(b[7])) & 0xfff
            let t = low | mid << 32 | hi << 48
            // 100-ns intervals since 1582-10-15 -> ns since the Unix epoch.
            pairs.append((.string("time"), .number(.int((t - 122_192_928_000_000_000) * 100))))
            pairs.append((.string("clocksequence"), .int((Int(b[8]) << 8 | Int(b[9])) & 0x3fff)))
            pairs.append((.string("nodeid"), .string(b[10..<16].map { String(format: "%02x", $0) }.joined(separator: "-"))))
            let scope = b[10] & 0x02 == 0 ? "global" : "local"
            let cast = b[10] & 0x01 == 0 ? "unicast" : "multicast"
            pairs.append((.string("macvariables"), .string(scope + ":" + cast)))
        }
        if version == 2 {
            let domains = ["Person", "Group", "Org"]
            pairs.append((.string("domain"), .string(Int(b[9]) < domains.count ? domains[Int(b[9])] : "Domain\(b[9])")))
            pairs.append((.string("id"), .number(.int(Int64(b[0]) << 24 | Int64(b[1]) << 16 | Int64(b[2]) << 8 | Int64(b[3])))))
        }
        return .object(RegoObject(pairs: pairs))
    }
}
