import Foundation

/// `walk` (a relation: one `[path, value]` per node, pre-order), `graph.reachable`,
/// `graph.reachable_paths`.
enum GraphBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        r.addRelation("walk", 1) { _, a in
            var out: [Value] = []
            var path: [Value] = []
            walk(a[0], &path, &out)
            return out
        }
        r.add("graph.reachable", 2) { _, a in
            let graph = try a.object(0)
            var queue = try initial(a)
            var reached = RegoSet()
            var i = 0
            while i < queue.count {
                let node = queue[i]; i += 1
                guard let edges = graph[node] else { continue }
                for n in neighbors(edges) where !reached.contains(n) { queue.append(n) }
                reached.insert(node)
            }
            return .set(reached)
        }
        r.add("graph.reachable_paths", 2) { _, a in
            let graph = try a.object(0)
            var paths = RegoSet()
            for node in try initial(a) {
                var reached = RegoSet()
                paths = paths.union(pathsFrom(graph, node, [], &reached))
            }
            return .set(paths)
        }
    }

    static func walk(_ v: Value, _ path: inout [Value], _ out: inout [Value]) {
        out.append(.array([.array(path), v]))
        switch v {
        case .array(let xs):
            for (i, x) in xs.enumerated() { path.append(.int(i)); walk(x, &path, &out); path.removeLast() }
        case .object(let o):
            for i in 0..<o.count { path.append(o.keys[i]); walk(o.values[i], &path, &out); path.removeLast() }
        case .set(let s):
            for x in s.elements { path.append(x); walk(x, &path, &out); path.removeLast() }
        default: break
        }
    }

    static func initial(_ a: [Value]) throws -> [Value] {
        switch a[1] {
        case .array(let xs): return xs
        case .set(let s): return s.elements
        default: throw a.typeErr(1, "one of {array, set}")
        }
    }

    /// Edges of a node; anything but an array or a set has none.
    static func neighbors(_ edges: Value) -> [Value] {
        switch edges {
        case .array(let xs): return xs
        case .set(let s): return s.elements
        default: return []
        }
    }

    /// OPA's path builder: a path ends at a node without edges, at a node outside the graph
    /// (not included), or before a node already expanded from this start node. An empty
    /// string as an edge means "no edge" (OPA issue 1022).
    static func pathsFrom(_ graph: RegoObject, _ node: Value, _ path: [Value], _ reached: inout RegoSet) -> RegoSet {
        guard let edges = graph[node] else { return path.isEmpty ? RegoSet() : RegoSet([.array(path)]) }
        let path = path + [node]
        let ns = neighbors(edges).filter { $0 != .string("") }
        if ns.isEmpty { return RegoSet([.array(path)]) }
        var out = RegoSet()
        for n in ns {
            if reached.contains(n) { out.insert(.array(path)) }
            else {
                reached.insert(node)
                out = out.union(pathsFrom(graph, n, path, &reached))
            }
        }
        return out
    }
}
