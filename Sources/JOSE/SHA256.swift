import COpenSSL

/// SHA-256 through OpenSSL, for keys that must identify bytes exactly (the verified-token cache).
public struct SHA256Digest: Hashable, Sendable {
    public let words: (UInt64, UInt64, UInt64, UInt64)

    public init(of input: UnsafeRawBufferPointer) {
        var out = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &out) { output in
            let ok = portcullis_sha256(input.baseAddress, input.count, output.baseAddress!.assumingMemoryBound(to: UInt8.self))
            precondition(ok == 1, "OpenSSL SHA-256 failed")
        }
        words = out
    }

    public init(of string: String) {
        var string = string
        self = string.withUTF8 { SHA256Digest(of: UnsafeRawBufferPointer($0)) }
    }

    public static func == (lhs: SHA256Digest, rhs: SHA256Digest) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(words.0) }

    /// Lower-case hex of the 32 bytes.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        return withUnsafeBytes(of: words) { bytes in
            String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
        }
    }
}
