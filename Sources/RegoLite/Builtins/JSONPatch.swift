import Foundation

/// `json.patch` (RFC 6902 on Rego values, as OPA: paths are JSON pointers or arrays of
/// segments, sets are addressed by their members; a failed operation makes the result undefined).
enum JSONPatchBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        r.add("json.patch", 2) { _, a in
            var doc = a[0]
            for opv in try a.array(1) {
                guard case .object(let op) = opv else { throw BuiltinError.builtin("operand 2: must be an array of JSON-Patch objects, but got \(opv)") }
                func attr(_ n: String) throws -> Value {
                    guard let v = op[.string(n)] else { throw BuiltinError.builtin("operand 2: patch is missing '\(n)' attribute") }
                    return v
                }
                guard case .string(let name) = try attr("op") else { throw BuiltinError.builtin("operand 2: patch attribute 'op' must be a string") }
                let path = try pointer(try attr("path"))
                let next: Value?
                switch name {
                case "add": next = add(doc, path[...], try attr("value"))
                case "remove": next = remove(doc, path[...])
                case "replace":
                    let v = try attr("value")
                    next = path.isEmpty ? v : remove(doc, path[...]).flatMap { add($0, path[...], v) }
                case "move":
                    let from = try pointer(try attr("from"))
                    guard let v = get(doc, from[...]) else { return nil }
                    next = remove(doc, from[...]).flatMap { add($0, path[...], v) }
                case "copy":
                    let from = try pointer(try attr("from"))
                    guard let v = get(doc, from[...]) else { return nil }
                    next = add(doc, path[...], v)
                case "test":
                    next = get(doc, path[...]) == (try attr("value")) ? doc : nil
                default: throw BuiltinError.builtin("operand 2: must be an array of JSON-Patch objects")
                }
                guard let n = next else { return nil }
                doc = n
            }
            return doc
        }
    }

    /// `"/a/b~1c"` -> `["a", "b/c"]` (leading slashes trimmed, as OPA); an array is used as is.
    static func pointer(_ v: Value) throws -> [Value] {
        switch v {
        case .string(let s):
            if s.isEmpty { return [] }
            let trimmed = s.drop { $0 == "/" }
            return trimmed.split(separator: "/", omittingEmptySubsequences: false).map {
                .string($0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~"))
            }
        case .array(let xs): return xs
        default: throw BuiltinError.builtin("operand 2: path must be a string or an array of path segments but got \(v.typeName)")
        }
    }

    /// An array index: a string of digits without leading zeros (RFC 6901), or an integer segment.
    static func index(_ key: Value) -> Int? {
        switch key {
        case .string(let s):
            guard !s.isEmpty, s.allSatisfy({ $0.isASCII && $0.isNumber }), s == "0" || !s.hasPrefix("0") else { return nil }
            return Int(s)
        case .number(.int(let i)): return Int(exactly: i)
        default: return nil
        }
    }

    static func child(_ v: Value, _ key: Value) -> Value? {
        switch v {
        case .object(let o): return o[key]
        case .array(let xs):
            guard let i = index(key), i >= 0, i < xs.count else { return nil }
            return xs[i]
        case .set(let s): return s.contains(key) ? key : nil
        default: return nil
        }
    }

    static func get(_ v: Value, _ path: ArraySlice<Value>) -> Value? {
        guard let k = path.first else { return v }
        return child(v, k).flatMap { get($0, path.dropFirst()) }
    }

    /// Rebuilds `v` with the child at `key` replaced by `new`.
    static func replaceChild(_ v: Value, _ key: Value, _ new: Value) -> Value? {
        switch v {
        case .object(var o): o[key] = new; return .object(o)
        case .array(var xs):
            guard let i = index(key), i >= 0, i < xs.count else { return nil }
            xs[i] = new; return .array(xs)
        case .set(let s):
            var els = s.elements.filter { $0 != key }
            els.append(new)
            return .set(RegoSet(els))
        default: return nil
        }
    }

    static func update(_ v: Value, _ path: ArraySlice<Value>, _ leaf: (Value, Value) -> Value?) -> Value? {
        guard let k = path.first else { return nil }
        if path.count == 1 { return leaf(v, k) }
        guard let c = child(v, k), let nc = update(c, path.dropFirst(), leaf) else { return nil }
        return replaceChild(v, k, nc)
    }

    static func add(_ doc: Value, _ path: ArraySlice<Value>, _ value: Value) -> Value? {
        if path.isEmpty { return value }
        return update(doc, path) { parent, key in
            switch parent {
            case .object(var o): o[key] = value; return .object(o)
            case .array(var xs):
                if key == .string("-") { xs.append(value); return .array(xs) }
                guard let i = index(key), i >= 0, i <= xs.count else { return nil }
                xs.insert(value, at: i); return .array(xs)
            case .set(var s):
                guard key == value else { return nil }
                s.insert(value); return .set(s)
            default: return nil
            }
        }
    }

    static func remove(_ doc: Value, _ path: ArraySlice<Value>) -> Value? {
        if path.isEmpty { return nil }
        return update(doc, path) { parent, key in
            switch parent {
            case .object(var o):
                guard o[key] != nil else { return nil }
                o[key] = nil; return .object(o)
            case .array(var xs):
                guard let i = index(key), i >= 0, i < xs.count else { return nil }
                xs.remove(at: i); return .array(xs)
            case .set(let s):
                guard s.contains(key) else { return nil }
                return .set(RegoSet(s.elements.filter { $0 != key }))
            default: return nil
            }
        }
    }
}
