/// `object.*` and `json.remove` / `json.filter`.
enum ObjectBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        r.add("object.get", 3) { _, a in
            let o = try a.object(0)
            if case .array(let path) = a[1] {
                var cur: Value = .object(o)
                if path.isEmpty { return cur }
                for k in path {
                    switch cur {
                    case .object, .array, .set: guard let n = cur[k] else { return a[2] }; cur = n
                    default: return a[2]
                    }
                }
                return cur
            }
            return o[a[1]] ?? a[2]
        }
        r.add("object.keys", 1) { _, a in .set(RegoSet(sorted: try a.object(0).keys)) }
        /// The keys named by argument 1: an array's or set's elements, or an object's keys.
        @Sendable func keyList(_ a: [Value]) throws -> [Value] {
            switch a[1] {
            case .array(let x): return x
            case .set(let s): return s.elements
            case .object(let p): return p.keys
            default: throw a.typeErr(1, "one of {object, set, array}")
            }
        }
        r.add("object.remove", 2) { _, a in
            var o = try a.object(0)
            for k in try keyList(a) { o[k] = nil }
            return .object(o)
        }
        r.add("object.filter", 2) { _, a in
            let o = try a.object(0)
            var out = RegoObject()
            for k in try keyList(a) { if let v = o[k] { out[k] = v } }
            return .object(out)
        }
        r.add("object.union", 2) { _, a in .object(union(try a.object(0), try a.object(1))) }
        r.add("object.union_n", 1) { _, a in
            var out = RegoObject()
            for v in try a.array(0) {
                guard case .object(let o) = v else { throw BuiltinError.type("operand 1 must be array of objects but got array containing \(v.typeName)") }
                out = union(out, o)
            }
            return .object(out)
        }
        r.add("object.subset", 2) { _, a in
            switch (a[0], a[1]) {
            case (.object, .object), (.set, .set), (.array, .array), (.array, .set): return .bool(subset(a[0], a[1]))
            case (.object, _): throw a.typeErr(1, "object")
            case (.set, _): throw a.typeErr(1, "set")
            case (.array, _): throw a.typeErr(1, "one of {array, set}")
            default: throw a.typeErr(0, "one of {object, set, array}")
            }
        }
        r.add("json.remove", 2) { _, a in
            guard case .object = a[0] else { throw a.typeErr(0, "object") }
            let paths = try jsonPaths(a, 1, "json.remove")
            var v = a[0]
            for p in paths { v = remove(v, p[...]) }
            return v
        }
        r.add("json.filter", 2) { _, a in
            guard case .object = a[0] else { throw a.typeErr(0, "object") }
            let paths = try jsonPaths(a, 1, "json.filter")
            return filter(a[0], paths)
        }
    }

    static func union(_ a: RegoObject, _ b: RegoObject) -> RegoObject {
        var out = a
        for i in 0..<b.count {
            if let ex = out[b.keys[i]], case .object(let eo) = ex, case .object(let bo) = b.values[i] { out[b.keys[i]] = .object(union(eo, bo)) }
            else { out[b.keys[i]] = b.values[i] }
        }
        return out
    }

    static func subset(_ sup: Value, _ sub: Value) -> Bool {
        switch (sup, sub) {
        case (.object(let x), .object(let y)):
            for i in 0..<y.count {
                guard let sv = x[y.keys[i]] else { return false }
                let v = y.values[i]
                switch (sv, v) {
                case (.object, .object), (.set, .set), (.array, .array), (.array, .set): if !subset(sv, v) { return false }
                default: if sv != v { return false }
                }
            }
            return true
        case (.set(let x), .set(let y)): return y.elements.allSatisfy { x.contains($0) }
        case (.array(let x), .set(let y)): return y.elements.allSatisfy { x.contains($0) }
        case (.array(let x), .array(let y)):
            if y.isEmpty { return true }
            if y.count > x.count { return false }
            for s in 0...(x.count - y.count) where Array(x[s..<(s + y.count)]) == y { return true }
            return false
        default: return sup == sub
        }
    }

    static func jsonPaths(_ a: [Value], _ i: Int, _ name: String) throws -> [[Value]] {
        let items: [Value]
        switch a[i] {
        case .array(let x): items = x
        case .set(let s): items = s.elements
        default: throw BuiltinError.type("operand \(i + 1) must be one of {set, array} but got \(a[i].typeName)")
        }
        return try items.map { p in
            switch p {
            case .string(let s):
                let t = s.hasPrefix("/") ? String(s.dropFirst()) : s
                if t.isEmpty { return [] }
                return t.split(separator: "/", omittingEmptySubsequences: false).map {
                    .string(String($0).replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~"))
                }
            case .array(let segs): return segs
            default: throw BuiltinError.type("operand \(i + 1) must be one of {set, array} containing string paths or array of path segments but got \(p.typeName)")
            }
        }
    }

    static func remove(_ v: Value, _ path: ArraySlice<Value>) -> Value {
        guard let first = path.first else { return v }
        switch v {
        case .object(var o):
            if path.count == 1 { o[first] = nil; return .object(o) }
            if let c = o[first] { o[first] = remove(c, path.dropFirst()) }
            return .object(o)
        case .array(var arr):
            let idx: Int?
            if case .string(let s) = first { idx = Int(s) } else if case .number(.int(let i)) = first { idx = Int(i) } else { idx = nil }
            guard let i = idx, i >= 0, i < arr.count else { return v }
            if path.count == 1 { arr.remove(at: i); return .array(arr) }
            arr[i] = remove(arr[i], path.dropFirst())
            return .array(arr)
        case .set(let s):
            if path.count == 1 { return .set(RegoSet(s.elements.filter { $0 != first })) }
            return v
        default: return v
        }
    }

    /// Keeps only the given paths (a trie of path segments).
    static func filter(_ v: Value, _ paths: [[Value]]) -> Value {
        if paths.contains(where: { $0.isEmpty }) { return v }
        var groups: [Value: [[Value]]] = [:]
        var order: [Value] = []
        for p in paths { if groups[p[0]] == nil { order.append(p[0]) }; groups[p[0], default: []].append(Array(p.dropFirst())) }
        switch v {
        case .object(let o):
            var out = RegoObject()
            for k in order { if let c = o[k] { out[k] = filter(c, groups[k]!) } }
            return .object(out)
        case .array(let arr):
            var out: [Value] = []
            for (i, e) in arr.enumerated() {
                let keys: [Value] = [.string(String(i)), .int(i)]
                if let sub = keys.compactMap({ groups[$0] }).first { out.append(filter(e, sub)) }
            }
            return .array(out)
        case .set(let s):
            return .set(RegoSet(s.elements.filter { groups[$0] != nil }))
        default: return v
        }
    }
}
