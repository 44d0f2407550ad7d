import Foundation

/// A Rego value. Cheap to copy (arrays are copy-on-write), `Sendable`, with OPA's equality and
/// total order: null < boolean < number < string < array < object < set.
public enum Value: Sendable, Hashable, Comparable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Number)
    case string(String)
    case array([Value])
    case object(RegoObject)
    case set(RegoSet)

    public static let `true` = Value.bool(true)
    public static let `false` = Value.bool(false)
    public static let emptyObject = Value.object(RegoObject())
    public static let emptySet = Value.set(RegoSet())
    public static func int(_ i: Int) -> Value { .number(.int(Int64(i))) }

    var typeRank: Int {
        switch self {
        case .null: return 0
        case .bool: return 1
        case .number: return 2
        case .string: return 3
        case .array: return 4
        case .object: return 5
        case .set: return 6
        }
    }

    /// OPA's type names as used in error messages and `type_name`.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        case .set: return "set"
        }
    }

    public static func compare(_ a: Value, _ b: Value) -> Int {
        switch (a, b) {
        case (.null, .null): return 0
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (x ? 1 : -1)
        case (.number(let x), .number(let y)): return x == y ? 0 : (x < y ? -1 : 1)
        case (.string(let x), .string(let y)): return compareStrings(x, y)
        case (.array(let x), .array(let y)): return compareSeq(x, y)
        case (.object(let x), .object(let y)):
            let n = min(x.count, y.count)
            for i in 0..<n {
                let c = compare(x.keys[i], y.keys[i]); if c != 0 { return c }
                let d = compare(x.values[i], y.values[i]); if d != 0 { return d }
            }
            return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
        case (.set(let x), .set(let y)): return compareSeq(x.elements, y.elements)
        default: return a.typeRank < b.typeRank ? -1 : 1
        }
    }

    /// Byte order of the UTF-8 forms (OPA compares strings bytewise).
    @inline(__always) static func compareStrings(_ x: String, _ y: String) -> Int {
        // Native and small strings expose their UTF-8 without a copy of the string.
        if let r = x.utf8.withContiguousStorageIfAvailable({ pa in
            y.utf8.withContiguousStorageIfAvailable { pb in compareBytes(pa, pb) }
        }), let r { return r }
        var a = x, b = y
        return a.withUTF8 { pa in b.withUTF8 { pb in compareBytes(pa, pb) } }
    }

    @inline(__always) static func compareBytes(_ pa: UnsafeBufferPointer<UInt8>, _ pb: UnsafeBufferPointer<UInt8>) -> Int {
        let n = min(pa.count, pb.count)
        if n > 32 {
            let r = memcmp(pa.baseAddress!, pb.baseAddress!, n)
            if r != 0 { return r < 0 ? -1 : 1 }
        } else {
            // Short strings (object keys, names): a byte loop beats the call to memcmp.
            var i = 0
            while i < n {
                let a = pa[i], b = pb[i]
                if a != b { return a < b ? -1 : 1 }
                i += 1
            }
        }
        return pa.count == pb.count ? 0 : (pa.count < pb.count ? -1 : 1)
    }

    /// Byte equality of the UTF-8 forms (not Swift's canonical equivalence).
    @inline(__always) static func equalStrings(_ x: String, _ y: String) -> Bool {
        if let r = x.utf8.withContiguousStorageIfAvailable({ pa in
            y.utf8.withContiguousStorageIfAvailable { pb in
                pa.count == pb.count && (pa.count == 0 || memcmp(pa.baseAddress!, pb.baseAddress!, pa.count) == 0)
            }
        }), let r { return r }
        return x.utf8.elementsEqual(y.utf8)
    }

    static func compareSeq(_ x: [Value], _ y: [Value]) -> Int {
        let n = min(x.count, y.count)
        for i in 0..<n { let c = compare(x[i], y[i]); if c != 0 { return c } }
        return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
    }

    public static func == (a: Value, b: Value) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): return equalStrings(x, y)
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.null, .null): return true
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)): return x.keys == y.keys && x.values == y.values
        case (.set(let x), .set(let y)): return x.elements == y.elements
        default: return false
        }
    }
    public static func < (a: Value, b: Value) -> Bool { compare(a, b) < 0 }

    public func hash(into h: inout Hasher) {
        h.combine(typeRank)
        switch self {
        case .null: break
        case .bool(let b): h.combine(b)
        case .number(let n): h.combine(n)
        case .string(let s): for c in s.utf8 { h.combine(c) }
        case .array(let a): h.combine(a.count); for v in a { h.combine(v) }
        case .object(let o): h.combine(o.count); for i in 0..<o.count { h.combine(o.keys[i]); h.combine(o.values[i]) }
        case .set(let s): h.combine(s.count); for v in s.elements { h.combine(v) }
        }
    }

    // MARK: accessors
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var numberValue: Number? { if case .number(let n) = self { return n }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var arrayValue: [Value]? { if case .array(let a) = self { return a }; return nil }
    public var objectValue: RegoObject? { if case .object(let o) = self { return o }; return nil }
    public var setValue: RegoSet? { if case .set(let s) = self { return s }; return nil }
    public var isFalse: Bool { if case .bool(false) = self { return true }; return false }

    /// Looks up one key (array index, object key, set member) as a Rego ref step does.
    public subscript(key: Value) -> Value? {
        switch self {
        case .object(let o): return o[key]
        case .array(let a):
            if case .number(.int(let i)) = key, i >= 0, i < Int64(a.count) { return a[Int(i)] }
            return nil
        case .set(let s): return s.contains(key) ? key : nil
        default: return nil
        }
    }
    public subscript(key: String) -> Value? { self[.string(key)] }

    /// Rego source form (as OPA prints terms).
    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n.description
        case .string(let s): return JSONWriter.quote(s)
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .object(let o):
            return "{" + (0..<o.count).map { "\(o.keys[$0].description): \(o.values[$0].description)" }.joined(separator: ", ") + "}"
        case .set(let s):
            if s.count == 0 { return "set()" }
            return "{" + s.elements.map(\.description).joined(separator: ", ") + "}"
        }
    }

    public var isScalar: Bool {
        switch self { case .array, .object, .set: return false; default: return true }
    }
}

/// An object with keys kept sorted by OPA's order: deterministic iteration, binary-search lookup.
public struct RegoObject: Sendable, Hashable {
    public private(set) var keys: [Value]
    public private(set) var values: [Value]

    public init() { keys = []; values = [] }
    /// Builds from pairs in any order; a repeated key keeps the last value.
    public init<S: Sequence>(pairs: S) where S.Element == (Value, Value) {
        var arr = Array(pairs)
        // Pairs built in key order (the gateway's policy input) need no sort.
        if arr.indices.dropFirst().allSatisfy({ Value.compare(arr[$0 - 1].0, arr[$0].0) < 0 }) {
            keys = arr.map(\.0)
            values = arr.map(\.1)
            return
        }
        // Stable sort so "last wins" can be applied.
        let idx = arr.indices.sorted { let c = Value.compare(arr[$0].0, arr[$1].0); return c != 0 ? c < 0 : $0 < $1 }
        keys = []; values = []
        keys.reserveCapacity(arr.count); values.reserveCapacity(arr.count)
        for i in idx {
            if let last = keys.last, last == arr[i].0 { values[values.count - 1] = arr[i].1 } else { keys.append(arr[i].0); values.append(arr[i].1) }
        }
        arr.removeAll()
    }
    init(sortedKeys: [Value], values: [Value]) { keys = sortedKeys; self.values = values }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    @inline(__always) func index(of key: Value) -> (found: Bool, at: Int) {
        var lo = 0, hi = keys.count
        if case .string(let ks) = key {
            // The key's UTF-8 once, then byte comparisons with each probed key.
            if let r = ks.utf8.withContiguousStorageIfAvailable({ kp in indexOfString(kp) }) { return r }
            while lo < hi {
                let mid = (lo + hi) >> 1
                let c: Int
                if case .string(let ms) = keys[mid] { c = Value.compareStrings(ms, ks) } else { c = Value.compare(keys[mid], key) }
                if c == 0 { return (true, mid) }
                if c < 0 { lo = mid + 1 } else { hi = mid }
            }
            return (false, lo)
        }
        while lo < hi {
            let mid = (lo + hi) >> 1
            let c = Value.compare(keys[mid], key)
            if c == 0 { return (true, mid) }
            if c < 0 { lo = mid + 1 } else { hi = mid }
        }
        return (false, lo)
    }

    /// Binary search for a string key given as UTF-8 (strings sort after null, booleans and
    /// numbers and before arrays, objects and sets).
    func indexOfString(_ kp: UnsafeBufferPointer<UInt8>) -> (found: Bool, at: Int) {
        var lo = 0, hi = keys.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            let c: Int
            if case .string(let ms) = keys[mid] {
                c = ms.utf8.withContiguousStorageIfAvailable { Value.compareBytes($0, kp) }
                    ?? Value.compareStrings(ms, String(decoding: kp, as: UTF8.self))
            } else {
                c = keys[mid].typeRank < 3 ? -1 : 1
            }
            if c == 0 { return (true, mid) }
            if c < 0 { lo = mid + 1 } else { hi = mid }
        }
        return (false, lo)
    }

    public subscript(key: Value) -> Value? {
        get { let r = index(of: key); return r.found ? values[r.at] : nil }
        set {
            let r = index(of: key)
            if let v = newValue {
                if r.found { values[r.at] = v } else { keys.insert(key, at: r.at); values.insert(v, at: r.at) }
            } else if r.found { keys.remove(at: r.at); values.remove(at: r.at) }
        }
    }
    public subscript(key: String) -> Value? { self[.string(key)] }

    public var pairs: [(Value, Value)] { (0..<keys.count).map { (keys[$0], values[$0]) } }
}

/// A set with elements kept sorted by OPA's order.
public struct RegoSet: Sendable, Hashable {
    public private(set) var elements: [Value]
    public init() { elements = [] }
    public init<S: Sequence>(_ s: S) where S.Element == Value {
        var a = Array(s)
        if a.count > 1 {
            a.sort { Value.compare($0, $1) < 0 }
            // Drop repeats in place.
            var w = 1
            for r in 1..<a.count where a[r] != a[w - 1] {
                if r != w { a[w] = a[r] }
                w += 1
            }
            if w < a.count { a.removeLast(a.count - w) }
        }
        elements = a
    }
    init(sorted: [Value]) { elements = sorted }
    public var count: Int { elements.count }
    public var isEmpty: Bool { elements.isEmpty }

    func index(of v: Value) -> (found: Bool, at: Int) {
        var lo = 0, hi = elements.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            let c = Value.compare(elements[mid], v)
            if c == 0 { return (true, mid) }
            if c < 0 { lo = mid + 1 } else { hi = mid }
        }
        return (false, lo)
    }
    public func contains(_ v: Value) -> Bool { index(of: v).found }
    public mutating func insert(_ v: Value) {
        if let last = elements.last, Value.compare(last, v) < 0 { elements.append(v); return }
        let r = index(of: v); if !r.found { elements.insert(v, at: r.at) }
    }
    public func union(_ o: RegoSet) -> RegoSet {
        var out: [Value] = []; out.reserveCapacity(count + o.count)
        var i = 0, j = 0
        while i < count && j < o.count {
            let c = Value.compare(elements[i], o.elements[j])
            if c == 0 { out.append(elements[i]); i += 1; j += 1 } else if c < 0 { out.append(elements[i]); i += 1 } else { out.append(o.elements[j]); j += 1 }
        }
        out.append(contentsOf: elements[i...]); out.append(contentsOf: o.elements[j...])
        return RegoSet(sorted: out)
    }
    public func intersection(_ o: RegoSet) -> RegoSet { RegoSet(sorted: elements.filter { o.contains($0) }) }
    public func subtracting(_ o: RegoSet) -> RegoSet { RegoSet(sorted: elements.filter { !o.contains($0) }) }
}
