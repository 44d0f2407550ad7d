/// `X-Request-ID` (DESIGN.md phase 2): a well-formed incoming id is kept, else one is minted.
enum RequestID {
    /// 1 to 128 visible ASCII characters (0x21–0x7E), else nil.
    static func accept(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.utf8.count <= 128,
              value.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7e }) else { return nil }
        return value
    }

    /// 32 lower-case hex digits from the system's random generator.
    static func mint() -> String {
        var generator = SystemRandomNumberGenerator()
        let a = generator.next() as UInt64, b = generator.next() as UInt64
        var bytes = [UInt8](repeating: 0, count: 32)
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        for i in 0..<16 {
            bytes[i] = digits[Int((a >> (60 - UInt64(i) * 4)) & 0xf)]
            bytes[16 + i] = digits[Int((b >> (60 - UInt64(i) * 4)) & 0xf)]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
