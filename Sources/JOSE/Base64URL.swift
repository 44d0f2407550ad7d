/// Strict base64url (RFC 4648 §5) without padding, as JWS requires (RFC 7515 §2):
/// any `=`, `+`, `/`, white space or other byte is an error, and so is a final
/// character whose unused low bits are not zero (which would give two spellings
/// of the same bytes).
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Decoding table: 0...63 for alphabet bytes, 0xFF otherwise. Allocated once, never freed.
    nonisolated(unsafe) private static let table: UnsafePointer<UInt8> = {
        let table = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        table.initialize(repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return UnsafePointer(table)
    }()

    public static func encode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let input = Array(bytes)
        let outputCount = (input.count * 4 + 2) / 3
        return String(unsafeUninitializedCapacity: outputCount) { output in
            var o = 0
            var i = 0
            while i + 3 <= input.count {
                let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                output[o] = alphabet[Int(v >> 18 & 63)]
                output[o + 1] = alphabet[Int(v >> 12 & 63)]
                output[o + 2] = alphabet[Int(v >> 6 & 63)]
                output[o + 3] = alphabet[Int(v & 63)]
                i += 3
                o += 4
            }
            let rest = input.count - i
            if rest == 1 {
                let v = UInt32(input[i]) << 16
                output[o] = alphabet[Int(v >> 18 & 63)]
                output[o + 1] = alphabet[Int(v >> 12 & 63)]
                o += 2
            } else if rest == 2 {
                let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
                output[o] = alphabet[Int(v >> 18 & 63)]
                output[o + 1] = alphabet[Int(v >> 12 & 63)]
                output[o + 2] = alphabet[Int(v >> 6 & 63)]
                o += 3
            }
            return o
        }
    }

    /// Decodes strict unpadded base64url; `nil` for any deviation.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }

    /// Decodes strict unpadded base64url; `nil` for any deviation.
    public static func decode(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        let count = input.count
        if count % 4 == 1 { return nil }
        let outputCount = count / 4 * 3 + (count % 4 == 0 ? 0 : count % 4 - 1)
        var failed = false
        let output = [UInt8](unsafeUninitializedCapacity: outputCount) { buffer, initialized in
            do {
                let table = Self.table
                guard let input = input.baseAddress?.assumingMemoryBound(to: UInt8.self), let buffer = buffer.baseAddress else {
                    initialized = 0
                    return
                }
                var i = 0
                var o = 0
                while i + 4 <= count {
                    let a = table[Int(input[i])], b = table[Int(input[i + 1])]
                    let c = table[Int(input[i + 2])], d = table[Int(input[i + 3])]
                    if (a | b | c | d) & 0xC0 != 0 { failed = true; return }
                    let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    buffer[o] = UInt8(truncatingIfNeeded: v >> 16)
                    buffer[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
                    buffer[o + 2] = UInt8(truncatingIfNeeded: v)
                    i += 4
                    o += 3
                }
                switch count - i {
                case 2:
                    let a = table[Int(input[i])], b = table[Int(input[i + 1])]
                    if (a | b) & 0xC0 != 0 || b & 0x0F != 0 { failed = true; return }
                    buffer[o] = a << 2 | b >> 4
                    o += 1
                case 3:
                    let a = table[Int(input[i])], b = table[Int(input[i + 1])], c = table[Int(input[i + 2])]
                    if (a | b | c) & 0xC0 != 0 || c & 0x03 != 0 { failed = true; return }
                    buffer[o] = a << 2 | b >> 4
                    buffer[o + 1] = b << 4 | c >> 2
                    o += 2
                default:
                    break
                }
                initialized = o
            }
        }
        return failed ? nil : output
    }
}
