import Foundation

/// `crypto.md5`, `crypto.sha1`, `crypto.sha256`, `crypto.sha384`, `crypto.sha512` (hex digests
/// of a string's UTF-8 bytes), `crypto.hmac.*` and `crypto.hmac.equal` (constant time).
/// X.509 and key parsing stay unsupported.
enum CryptoBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        let algs: [(String, Digest.Algorithm)] = [("md5", .md5), ("sha1", .sha1), ("sha256", .sha256), ("sha384", .sha384), ("sha512", .sha512)]
        for (name, alg) in algs {
            r.add("crypto.\(name)", 1) { _, a in .string(Digest.hex(Digest.hash(alg, Array(try a.string(0).utf8)))) }
            if name != "sha384" {
                r.add("crypto.hmac.\(name)", 2) { _, a in
                    .string(Digest.hex(Digest.hmac(alg, key: Array(try a.string(1).utf8), message: Array(try a.string(0).utf8))))
                }
            }
        }
        r.add("crypto.hmac.equal", 2) { _, a in
            let x = Array(try a.string(0).utf8), y = Array(try a.string(1).utf8)
            guard x.count == y.count else { return .false }
            var diff: UInt8 = 0
            for i in 0..<x.count { diff |= x[i] ^ y[i] }
            return .bool(diff == 0)
        }
    }
}
