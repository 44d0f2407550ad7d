import Foundation

/// `net.cidr_contains`, `net.cidr_intersects`, `net.cidr_is_valid`, `net.cidr_contains_matches`,
/// `net.cidr_merge`, `net.cidr_expand` (IPv4 and IPv6).
enum NetBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        r.add("net.cidr_contains", 2) { _, a in
            let c = try a.string(0), x = try a.string(1)
            guard let net = parseCIDR(c) else { throw BuiltinError.builtin("invalid CIDR address: \(c)") }
            if let ip = parseIP(x) { return .bool(contains(net, ip, ip.count * 8)) }
            guard let sub = parseCIDR(x) else { throw BuiltinError.builtin("invalid CIDR address: \(x)") }
            return .bool(sub.bits >= net.bits && contains(net, sub.addr, net.bits) && net.addr.count == sub.addr.count)
        }
        r.add("net.cidr_intersects", 2) { _, a in
            let c1 = try a.string(0), c2 = try a.string(1)
            guard let n1 = parseCIDR(c1) else { throw BuiltinError.builtin("invalid CIDR address: \(c1)") }
            guard let n2 = parseCIDR(c2) else { throw BuiltinError.builtin("invalid CIDR address: \(c2)") }
            guard n1.addr.count == n2.addr.count else { return .false }
            let bits = min(n1.bits, n2.bits)
            return .bool(contains((n1.addr, bits), n2.addr, bits))
        }
        r.add("net.cidr_is_valid", 1) { _, a in
            guard case .string(let s) = a[0] else { return .false }
            return .bool(parseCIDR(s) != nil)
        }
        r.add("net.cidr_contains_matches", 2) { _, a in
            let cidrs = try matchTerms(a, 0)
            if cidrs.isEmpty { return .emptySet }
            let addrs = try matchTerms(a, 1)
            var out = RegoSet()
            for (c, ci) in cidrs {
                guard let net = parseCIDR(c) else { throw BuiltinError.builtin("invalid CIDR address: \(c)") }
                for (x, xi) in addrs {
                    let hit: Bool
                    if let ip = parseIP(x) { hit = contains(net, ip, ip.count * 8) }
                    else if let sub = parseCIDR(x) { hit = sub.bits >= net.bits && net.addr.count == sub.addr.count && contains(net, sub.addr, net.bits) }
                    else { throw BuiltinError.builtin("invalid CIDR address: \(x)") }
                    if hit { out.insert(.array([ci, xi])) }
                }
            }
            return .set(out)
        }
        r.add("net.cidr_expand", 1) { _, a in
            let c = try a.string(0)
            guard let net = parseCIDR(c) else { throw BuiltinError.builtin("invalid CIDR address: \(c)") }
            let width = net.addr.count * 8, hostBits = width - net.bits
            // OPA would try to build any size; beyond 2^20 addresses RegoLite refuses (a limit, not a result).
            guard hostBits <= 20 else { throw BuiltinError.builtin("CIDR \(c) is too large to expand (more than 2^20 addresses)") }
            let first = toInt(net.addr) & ~hostMask(hostBits)
            var out: [Value] = []
            for i in 0..<(UInt128(1) << hostBits) { out.append(.string(formatIP(fromInt(first + i, net.addr.count)))) }
            return .set(RegoSet(out))
        }
        r.add("net.cidr_merge", 1) { _, a in
            var v4: [(UInt128, UInt128)] = [], v6: [(UInt128, UInt128)] = []
            for x in try a.collection(0) {
                guard case .string(let s) = x else { throw BuiltinError.type("operand 1 must be array of strings but got \(x.typeName) element") }
                let net: (addr: [UInt8], bits: Int)
                if let ip = parseIP(s) {
                    // A bare address takes its classful default mask, as Go's `IP.DefaultMask`.
                    guard ip.count == 4 else { throw BuiltinError.builtin("IPv6 invalid: needs prefix length") }
                    switch ip[0] {
                    case 0..<128: net = (ip, 8)
                    case 128..<192: net = (ip, 16)
                    case 192..<224: net = (ip, 24)
                    default: throw BuiltinError.builtin("IPv4 invalid: needs prefix length")
                    }
                } else if let n = parseCIDR(s) { net = n }
                else { throw BuiltinError.builtin("invalid CIDR address: \(s)") }
                let hostBits = net.addr.count * 8 - net.bits
                let first = toInt(net.addr) & ~hostMask(hostBits)
                let range = (first, first | hostMask(hostBits))
                if net.addr.count == 4 { v4.append(range) } else { v6.append(range) }
            }
            return .array(mergeRanges(v4, 4) + mergeRanges(v6, 16))
        }
    }

    /// `(match term, index)` of each element of operand `i` of `net.cidr_contains_matches`:
    /// a string is its own index; array elements are indexed by position, set elements by
    /// themselves, object values by key; an element may be a tuple whose first item is the CIDR.
    static func matchTerms(_ a: [Value], _ i: Int) throws -> [(String, Value)] {
        func term(_ v: Value) throws -> String {
            switch v {
            case .string(let s): return s
            case .array(let xs) where !xs.isEmpty:
                guard case .string(let s) = xs[0] else { throw BuiltinError.builtin("operand \(i + 1): element must be string or non-empty array") }
                return s
            default: throw BuiltinError.builtin("operand \(i + 1): element must be string or non-empty array")
            }
        }
        switch a[i] {
        case .string(let s): return [(s, a[i])]
        case .array(let xs): return try xs.enumerated().map { (try term($1), .int($0)) }
        case .set(let s): return try s.elements.map { (try term($0), $0) }
        case .object(let o): return try (0..<o.count).map { (try term(o.values[$0]), o.keys[$0]) }
        default: throw a.typeErr(i, "one of {string, array, set, object}")
        }
    }

    static func hostMask(_ hostBits: Int) -> UInt128 { hostBits >= 128 ? .max : (UInt128(1) << hostBits) - 1 }
    static func toInt(_ b: [UInt8]) -> UInt128 { b.reduce(UInt128(0)) { $0 << 8 | UInt128($1) } }
    static func fromInt(_ v: UInt128, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * (n - 1 - $0))) } }

    /// Merges overlapping and adjacent ranges, then covers each with the fewest CIDR blocks.
    static func mergeRanges(_ ranges: [(UInt128, UInt128)], _ bytes: Int) -> [Value] {
        let width = bytes * 8
        let maxAddr = hostMask(width)
        var merged: [(UInt128, UInt128)] = []
        for r in ranges.sorted(by: { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 > $1.1) }) {
            if let last = merged.last, last.1 == maxAddr || r.0 <= last.1 + 1 {
                merged[merged.count - 1].1 = max(last.1, r.1)
            } else { merged.append(r) }
        }
        var out: [Value] = []
        for (lo, hi) in merged {
            var first = lo
            while true {
                var h = first == 0 ? width : min(first.trailingZeroBitCount, width)
                while h > 0 && (hi - first) < hostMask(h) { h -= 1 }
                out.append(.string(formatIP(fromInt(first, bytes)) + "/\(width - h)"))
                let end = first | hostMask(h)
                if end >= hi { break }
                first = end + 1
            }
        }
        return out
    }

    /// Go's `net.IP.String()`: dotted quad, or RFC 5952 hex with the longest run of two or
    /// more zero groups as `::`.
    static func formatIP(_ b: [UInt8]) -> String {
        if b.count == 4 { return b.map(String.init).joined(separator: ".") }
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff { return b[12...].map(String.init).joined(separator: ".") }
        let groups = (0..<8).map { Int(b[2 * $0]) << 8 | Int(b[2 * $0 + 1]) }
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i; while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                i = j
            } else { i += 1 }
        }
        var s = ""
        i = 0
        while i < 8 {
            if i == bestStart { s += "::"; i += bestLen; continue }
            if !s.isEmpty && !s.hasSuffix(":") { s += ":" }
            s += String(groups[i], radix: 16)
            i += 1
        }
        return s
    }

    static func contains(_ net: (addr: [UInt8], bits: Int), _ ip: [UInt8], _ bits: Int) -> Bool {
        guard net.addr.count == ip.count else { return false }
        var remaining = min(bits, net.bits)
        for i in 0..<ip.count {
            if remaining <= 0 { break }
            let mask: UInt8 = remaining >= 8 ? 0xFF : UInt8(0xFF << (8 - remaining) & 0xFF)
            if net.addr[i] & mask != ip[i] & mask { return false }
            remaining -= 8
        }
        return true
    }

    static func parseCIDR(_ s: String) -> (addr: [UInt8], bits: Int)? {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let ip = parseIP(String(parts[0])), let bits = Int(parts[1]), bits >= 0, bits <= ip.count * 8,
              !parts[1].hasPrefix("+"), !parts[1].hasPrefix("-") else { return nil }
        return (ip, bits)
    }

    static func parseIP(_ s: String) -> [UInt8]? {
        if s.contains(":") {
            var buf = in6_addr()
            guard inet_pton(AF_INET6, s, &buf) == 1 else { return nil }
            return withUnsafeBytes(of: &buf) { Array($0) }
        }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt8(p) else { return nil }
            if p.count > 1 && p.hasPrefix("0") { return nil }
            out.append(v)
        }
        return out
    }
}
