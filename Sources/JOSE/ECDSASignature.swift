/// Conversions between JOSE's fixed-size `R || S` ECDSA signatures (RFC 7518 §3.4) and the
/// DER `ECDSA-Sig-Value` OpenSSL speaks.
enum ECDSASignature {
    /// DER for a raw signature, or nil when the signature is not exactly `2 × coordinateSize`
    /// bytes or R or S is zero or not below the group order: such values are never valid
    /// (CVE-2022-21449, "psychic signatures", accepted R = S = 0).
    static func der(fromRaw raw: [UInt8], curve: KeyKind.Curve) -> [UInt8]? {
        let size = curve.coordinateSize
        guard raw.count == 2 * size else { return nil }
        let r = raw[0..<size], s = raw[size..<2 * size]
        let order = curve.order
        guard isInRange(r, order: order), isInRange(s, order: order) else { return nil }
        let rDER = integer(r), sDER = integer(s)
        var out: [UInt8] = [0x30]
        appendLength(rDER.count + sDER.count, to: &out)
        out += rDER
        out += sDER
        return out
    }

    /// 0 < value < order, both big-endian of the same length.
    private static func isInRange(_ value: ArraySlice<UInt8>, order: [UInt8]) -> Bool {
        guard value.contains(where: { $0 != 0 }) else { return false }
        for (a, b) in zip(value, order) where a != b { return a < b }
        return false  // equal to the order
    }

    private static func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var content = Array(bytes.drop(while: { $0 == 0 }))
        if content.isEmpty || content[0] & 0x80 != 0 { content.insert(0, at: 0) }
        var out: [UInt8] = [0x02]
        appendLength(content.count, to: &out)
        return out + content
    }

    private static func appendLength(_ length: Int, to out: inout [UInt8]) {
        if length < 0x80 {
            out.append(UInt8(length))
        } else if length <= 0xFF {
            out += [0x81, UInt8(length)]
        } else {
            out += [0x82, UInt8(length >> 8), UInt8(length & 0xFF)]
        }
    }

    /// The raw `R || S` form of a DER signature produced by OpenSSL.
    static func raw(fromDER der: [UInt8], curve: KeyKind.Curve) -> [UInt8]? {
        var index = 0
        func readLength() -> Int? {
            guard index < der.count else { return nil }
            let first = der[index]
            index += 1
            if first < 0x80 { return Int(first) }
            let count = Int(first & 0x7F)
            guard count >= 1, count <= 2, index + count <= der.count else { return nil }
            var length = 0
            for _ in 0..<count {
                length = length << 8 | Int(der[index])
                index += 1
            }
            return length
        }
        func readInteger() -> ArraySlice<UInt8>? {
            guard index < der.count, der[index] == 0x02 else { return nil }
            index += 1
            guard let length = readLength(), index + length <= der.count else { return nil }
            defer { index += length }
            return der[index..<index + length].drop(while: { $0 == 0 })
        }
        guard der.first == 0x30 else { return nil }
        index = 1
        guard readLength() != nil, let r = readInteger(), let s = readInteger() else { return nil }
        let size = curve.coordinateSize
        guard r.count <= size, s.count <= size else { return nil }
        return [UInt8](repeating: 0, count: size - r.count) + r + [UInt8](repeating: 0, count: size - s.count) + s
    }
}
