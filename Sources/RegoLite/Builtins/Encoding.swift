import Foundation

/// base64, base64url, hex, JSON and URL query encodings.
enum EncodingBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        r.add("base64.encode", 1) { _, a in .string(Data(try a.string(0).utf8).base64EncodedString()) }
        r.add("base64.decode", 1) { _, a in
            guard let d = Data(base64Encoded: try a.string(0)) else { throw BuiltinError.builtin("illegal base64 data at input byte 0") }
            return .string(String(decoding: d, as: UTF8.self))
        }
        r.add("base64.is_valid", 1) { _, a in .bool(Data(base64Encoded: try a.string(0)) != nil) }
        r.add("base64url.encode", 1) { _, a in .string(base64url(Data(try a.string(0).utf8), pad: true)) }
        r.add("base64url.encode_no_pad", 1) { _, a in .string(base64url(Data(try a.string(0).utf8), pad: false)) }
        r.add("base64url.decode", 1) { _, a in
            guard let d = base64urlDecode(try a.string(0)) else { throw BuiltinError.builtin("illegal base64 data at input byte 0") }
            return .string(String(decoding: d, as: UTF8.self))
        }
        r.add("hex.encode", 1) { _, a in .string(try a.string(0).utf8.map { String(format: "%02x", $0) }.joined()) }
        r.add("hex.decode", 1) { _, a in
            let s = Array(try a.string(0).utf8)
            var out: [UInt8] = []
            var i = 0
            func nib(_ c: UInt8) -> UInt8? {
                switch c { case 48...57: return c - 48; case 97...102: return c - 87; case 65...70: return c - 55; default: return nil }
            }
            while i < s.count {
                guard let h = nib(s[i]) else { throw BuiltinError.builtin("encoding/hex: invalid byte: U+\(String(format: "%04X", s[i])) '\(Character(Unicode.Scalar(s[i])))'") }
                guard i + 1 < s.count else { throw BuiltinError.builtin("encoding/hex: odd length hex string") }
                guard let l = nib(s[i + 1]) else { throw BuiltinError.builtin("encoding/hex: invalid byte: U+\(String(format: "%04X", s[i + 1])) '\(Character(Unicode.Scalar(s[i + 1])))'") }
                out.append(h << 4 | l); i += 2
            }
            return .string(String(decoding: out, as: UTF8.self))
        }
        r.add("json.marshal", 1) { _, a in .string(JSONWriter.write(a[0], htmlEscape: true)) }
        r.add("json.marshal_with_options", 2) { _, a in
            let o = try a.object(1)
            var pretty = false, prefix = "", indent = "\t"
            for (k, v) in o.pairs {
                switch k.stringValue {
                case "pretty": guard case .bool(let b) = v else { throw BuiltinError.type("operand 2 must be object but got object") }; pretty = b
                case "prefix": guard case .string(let s) = v else { throw BuiltinError.type("json.marshal_with_options: prefix must be string") }; prefix = s; if !o.keys.contains(.string("pretty")) { pretty = true }
                case "indent": guard case .string(let s) = v else { throw BuiltinError.type("json.marshal_with_options: indent must be string") }; indent = s; if !o.keys.contains(.string("pretty")) { pretty = true }
                default: throw BuiltinError.type("object contained unknown key \(JSONWriter.quote(k.stringValue ?? k.description))")
                }
            }
            if !pretty { return .string(JSONWriter.write(a[0], htmlEscape: true)) }
            let p = JSONWriter.write(a[0], htmlEscape: true, pretty: true)
            let lines = p.components(separatedBy: "\n").map { (line: String) -> String in
                let spaces = line.prefix(while: { $0 == " " }).count
                return prefix + String(repeating: indent, count: spaces / 2) + line.dropFirst(spaces)
            }
            return .string(lines.joined(separator: "\n"))
        }
        r.add("json.unmarshal", 1) { _, a in
            let s = try a.string(0)
            do { return try JSONReader.parse(s) } catch { throw BuiltinError.builtin("invalid character in JSON input") }
        }
        r.add("json.is_valid", 1) { _, a in
            guard case .string(let s) = a[0] else { return .false }
            return .bool((try? JSONReader.parse(s)) != nil)
        }
        r.add("urlquery.encode", 1) { _, a in .string(queryEscape(try a.string(0))) }
        r.add("urlquery.decode", 1) { _, a in
            guard let s = queryUnescape(try a.string(0)) else { throw BuiltinError.builtin("invalid URL escape") }
            return .string(s)
        }
        r.add("urlquery.encode_object", 1) { _, a in
            let o = try a.object(0)
            var parts: [String] = []
            for (k, v) in o.pairs {
                guard case .string(let ks) = k else { throw a.typeErr(0, "object") }
                let vals: [Value]
                switch v {
                case .string: vals = [v]
                case .array(let x): vals = x
                case .set(let s): vals = s.elements
                default: throw BuiltinError.type("operand 1 must be object[string: string, array[string], set[string]] but got object")
                }
                for x in vals {
                    guard case .string(let xs) = x else { throw BuiltinError.type("operand 1 must be object[string: string, array[string], set[string]] but got object") }
                    parts.append(queryEscape(ks) + "=" + queryEscape(xs))
                }
            }
            return .string(parts.joined(separator: "&"))
        }
        r.add("urlquery.decode_object", 1) { _, a in
            var out: [(String, [Value])] = []
            for part in try a.string(0).split(separator: "&", omittingEmptySubsequences: true) {
                let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let k = queryUnescape(String(kv[0])), let v = queryUnescape(kv.count > 1 ? String(kv[1]) : "") else { throw BuiltinError.builtin("invalid URL escape") }
                if let i = out.firstIndex(where: { $0.0 == k }) { out[i].1.append(.string(v)) } else { out.append((k, [.string(v)])) }
            }
            return .object(RegoObject(pairs: out.map { (.string($0.0), .array($0.1)) }))
        }
    }

    static func base64url(_ d: Data, pad: Bool) -> String {
        var s = d.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        if !pad { while s.hasSuffix("=") { s.removeLast() } }
        return s
    }
    static func base64urlDecode(_ s: String) -> Data? {
        var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        if t.contains("+") && s.contains("+") || t.contains("/") && s.contains("/") { return nil }
        while t.count % 4 != 0 { t += "=" }
        return Data(base64Encoded: t)
    }
    static func queryEscape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case 65...90, 97...122, 48...57, 45, 46, 95, 126: out.append(Character(Unicode.Scalar(b)))
            case 32: out += "+"
            default: out += String(format: "%%%02X", b)
            }
        }
        return out
    }
    static func queryUnescape(_ s: String) -> String? {
        let u = Array(s.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < u.count {
            if u[i] == 37 {
                guard i + 2 < u.count, let h = UInt8(String(decoding: u[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) else { return nil }
                out.append(h); i += 3
            } else if u[i] == 43 { out.append(32); i += 1 } else { out.append(u[i]); i += 1 }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
