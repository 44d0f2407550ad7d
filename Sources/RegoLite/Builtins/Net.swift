import Foundation

/// `net.cidr_contains`, `net.cidr_intersects`, `net.cidr_is_valid` (IPv4 and IPv6).
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
