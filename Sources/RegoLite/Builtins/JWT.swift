import Foundation

/// `io.jwt.decode`, and `io.jwt.verify_hs256/384/512` (HMAC signatures only; the RSA, ECDSA
/// and EdDSA verifiers need public-key crypto that Foundation on Linux lacks, so they stay
/// unsupported).
enum JWTBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        r.add("io.jwt.decode", 1) { _, a in try decode(try a.string(0)) }
        for (name, alg) in [("hs256", Digest.Algorithm.sha256), ("hs384", .sha384), ("hs512", .sha512)] {
            r.add("io.jwt.verify_\(name)", 2) { _, a in
                let t = try a.string(0)
                guard t.contains(".") else { throw BuiltinError.builtin("encoded JWT had no period separators") }
                let parts = t.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 3 else { throw BuiltinError.builtin("encoded JWT must have 3 sections, found \(parts.count)") }
                let secret = try a.string(1)
                let sig = [UInt8](try b64(parts[2], "signature"))
                let mac = Digest.hmac(alg, key: Array(secret.utf8), message: Array((parts[0] + "." + parts[1]).utf8))
                guard sig.count == mac.count else { return .false }
                var diff: UInt8 = 0
                for i in 0..<mac.count { diff |= sig[i] ^ mac[i] }
                return .bool(diff == 0)
            }
        }
    }

    static func b64(_ s: String, _ what: String) throws -> Data {
        guard let d = EncodingBuiltins.base64urlDecode(s) else {
            let bad = s.firstIndex { !($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "=") }.map { s.distance(from: s.startIndex, to: $0) } ?? 0
            throw BuiltinError.builtin("JWT \(what) had invalid encoding: illegal base64 data at input byte \(bad)")
        }
        return d
    }

    static func decode(_ t: String) throws -> Value {
        guard t.contains(".") else { throw BuiltinError.builtin("encoded JWT had no period separators") }
        let parts = t.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { throw BuiltinError.builtin("encoded JWT must have 3 sections, found \(parts.count)") }
        let header: Value
        do { header = try JSONReader.parse(data: try b64(parts[0], "header")) } catch let e as BuiltinError { throw e } catch { throw BuiltinError.builtin("JWT header had invalid encoding") }
        guard case .object = header else { throw BuiltinError.builtin("JWT header had invalid encoding") }
        if header["enc"] != nil { throw BuiltinError.builtin("JWT is a JWE object, which is not supported") }
        let pd = try b64(parts[1], "payload")
        if let cty = header["cty"]?.stringValue, cty.uppercased() == "JWT" {
            throw RegoError.unsupported("io.jwt.decode of nested tokens (cty: JWT)", nil)
        }
        guard let payload = try? JSONReader.parse(data: pd), case .object = payload else {
            throw BuiltinError.builtin("JWT payload had invalid encoding")
        }
        let sig = try b64(parts[2], "signature")
        return .array([header, payload, .string(sig.map { String(format: "%02x", $0) }.joined())])
    }
}
