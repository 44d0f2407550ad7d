import Atomics

/// `X-Request-ID` (DESIGN.md phase 2): a well-formed incoming id is kept, else one is minted.
enum RequestID {
    /// 1 to 128 visible ASCII characters (0x21–0x7E), else nil.
    static func accept(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.utf8.count <= 128,
              value.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7e }) else { return nil }
        return value
    }

    /// A per-process random value: ids differ between processes and restarts without a
    /// `getrandom` call per request. (Request ids are correlation ids, not secrets: a client may
    /// send its own.)
    private static let key: (UInt64, UInt64) = {
        var generator = SystemRandomNumberGenerator()
        return (generator.next(), generator.next())
    }()
    private static let counter = ManagedAtomic<UInt64>(0)

    /// SplitMix64's finalizer: a bijection, so distinct inputs give distinct outputs.
    @inline(__always) private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// 32 lower-case hex digits, unique within the process (a counter through a keyed bijection).
    static func mint() -> String {
        let n = counter.wrappingIncrementThenLoad(ordering: .relaxed)
        let a = mix(n ^ key.0), b = mix(a ^ key.1)
        return String(unsafeUninitializedCapacity: 32) { bytes in
            for i in 0..<16 {
                bytes[i] = hexDigit(a >> (60 - UInt64(i) * 4))
                bytes[16 + i] = hexDigit(b >> (60 - UInt64(i) * 4))
            }
            return 32
        }
    }

    @inline(__always) private static func hexDigit(_ value: UInt64) -> UInt8 {
        let v = UInt8(truncatingIfNeeded: value & 0xf)
        return v < 10 ? 0x30 + v : 0x61 + v - 10
    }
}
