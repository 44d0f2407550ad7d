import Foundation
import RegoLite

/// OPA's decision-log masking, configured instead of written in Rego: a list of rules, each
/// erasing or replacing (upserting) the value at a JSON pointer under `/input` or `/result`.
/// Rules apply in order to the record's copy (values are copy-on-write: the request's own input
/// and the response are never touched); the paths that changed are listed in the record's
/// `erased` and `masked` as OPA lists them.
public struct MaskRule: Sendable, Equatable {
    public enum Operation: Sendable, Equatable {
        case erase
        case upsert(Value)
    }

    public let operation: Operation
    /// The pointer as written (`/input/headers/x-api-key`), for `erased`/`masked`.
    public let pointer: String
    /// Unescaped tokens (`~1` → `/`, `~0` → `~`); the first is `input` or `result`.
    public let tokens: [String]

    public struct InvalidPointer: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// `pointer` must start with `/input` or `/result`.
    public init(_ operation: Operation, pointer: String) throws {
        guard pointer.hasPrefix("/") else { throw InvalidPointer(description: "\(pointer): a JSON pointer starts with '/'") }
        let tokens = pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
        guard let root = tokens.first, root == "input" || root == "result" else {
            throw InvalidPointer(description: "\(pointer): masks apply below /input or /result")
        }
        if case .erase = operation, tokens.count == 1, root == "result" {
            throw InvalidPointer(description: "\(pointer): the whole result cannot be erased (mask its members)")
        }
        self.operation = operation
        self.pointer = pointer
        self.tokens = tokens
    }
}

/// The masks applied to one record's copy, and what they changed.
struct MaskedValues {
    var input: Value?
    var result: Value?
    var erased: [String] = []
    var masked: [String] = []
}

enum Masking {
    static func apply(_ rules: [MaskRule], to values: inout MaskedValues) {
        for rule in rules {
            let rest = rule.tokens.dropFirst()
            let isInput = rule.tokens[0] == "input"
            var root = isInput ? values.input : values.result
            let changed: Bool
            switch rule.operation {
            case .erase:
                if rest.isEmpty { changed = root != nil; root = nil } else { changed = erase(&root, rest) }
            case .upsert(let replacement):
                if rest.isEmpty { root = replacement; changed = true } else { changed = upsert(&root, rest, replacement) }
            }
            guard changed else { continue }
            if isInput { values.input = root } else { values.result = root }
            if case .erase = rule.operation { values.erased.append(rule.pointer) } else { values.masked.append(rule.pointer) }
        }
    }

    /// Removes the member at `path`; false when there is none.
    static func erase(_ value: inout Value?, _ path: ArraySlice<String>) -> Bool {
        guard var current = value, let key = path.first else { return false }
        let changed = eraseIn(&current, path[...], key)
        if changed { value = current }
        return changed
    }

    private static func eraseIn(_ value: inout Value, _ path: ArraySlice<String>, _ key: String) -> Bool {
        let rest = path.dropFirst()
        switch value {
        case .object(var o):
            guard var child = o[.string(key)] else { return false }
            if rest.isEmpty {
                o[.string(key)] = nil
            } else {
                guard eraseIn(&child, rest, rest.first!) else { return false }
                o[.string(key)] = child
            }
            value = .object(o)
            return true
        case .array(var a):
            guard let index = Int(key), index >= 0, index < a.count else { return false }
            if rest.isEmpty {
                a.remove(at: index)
            } else {
                guard eraseIn(&a[index], rest, rest.first!) else { return false }
            }
            value = .array(a)
            return true
        default:
            return false
        }
    }

    /// Sets the member at `path` (creating it when its parent object exists); false when the
    /// parent is missing or is not an object/array.
    static func upsert(_ value: inout Value?, _ path: ArraySlice<String>, _ replacement: Value) -> Bool {
        guard var current = value else { return false }
        let changed = upsertIn(&current, path, replacement)
        if changed { value = current }
        return changed
    }

    private static func upsertIn(_ value: inout Value, _ path: ArraySlice<String>, _ replacement: Value) -> Bool {
        guard let key = path.first else { return false }
        let rest = path.dropFirst()
        switch value {
        case .object(var o):
            if rest.isEmpty {
                o[.string(key)] = replacement
            } else {
                guard var child = o[.string(key)], upsertIn(&child, rest, replacement) else { return false }
                o[.string(key)] = child
            }
            value = .object(o)
            return true
        case .array(var a):
            guard let index = Int(key), index >= 0, index < a.count else { return false }
            if rest.isEmpty { a[index] = replacement } else { guard upsertIn(&a[index], rest, replacement) else { return false } }
            value = .array(a)
            return true
        default:
            return false
        }
    }
}
