import Foundation
import RegoLite
import Yams

/// YAML to policy values, as OPA reads YAML data files: the JSON subset of YAML 1.2 core
/// scalars (null, booleans, integers and floats kept exact, strings), mappings with string
/// keys, sequences; aliases are expanded.
public enum YAMLDocument {
    public struct Error: Swift.Error, CustomStringConvertible, Sendable {
        public let file: String
        public let line: Int
        public let column: Int
        public let message: String
        public var description: String { "\(file):\(line):\(column): \(message)" }
    }

    public static func parse(_ text: String, file: String) throws -> Value {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch let error as YamlError {
            throw Self.error(from: error, file: file)
        }
        guard let node else { return .null }
        return try value(node, file: file)
    }

    private static func value(_ node: Node, file: String) throws -> Value {
        switch node {
        case .scalar(let scalar):
            return try value(scalar, mark: node.mark, file: file)
        case .sequence(let sequence):
            return .array(try sequence.map { try value($0, file: file) })
        case .mapping(let mapping):
            var pairs: [(Value, Value)] = []
            var seen: Set<String> = []
            for (key, element) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw failure(file, key.mark, "mapping keys must be strings")
                }
                guard seen.insert(keyScalar.string).inserted else {
                    throw failure(file, key.mark, "duplicate key \"\(keyScalar.string)\"")
                }
                pairs.append((.string(keyScalar.string), try value(element, file: file)))
            }
            return .object(RegoObject(pairs: pairs))
        case .alias:
            throw failure(file, node.mark, "unresolved alias")
        }
    }

    private static func value(_ scalar: Node.Scalar, mark: Mark?, file: String) throws -> Value {
        let node = Node.scalar(scalar)
        switch Tag.Name(rawValue: node.tag.rawValue) {
        case .null: return .null
        case .bool:
            guard let bool = node.bool else { throw failure(file, mark, "invalid boolean \"\(scalar.string)\"") }
            return .bool(bool)
        case .int, .float:
            // Reuse the exact JSON number reader: "0x1F" or ".inf" are not JSON and are refused.
            let text = scalar.string.hasPrefix("+") ? String(scalar.string.dropFirst()) : scalar.string
            guard let number = try? JSONReader.parse(text), case .number = number else {
                throw failure(file, mark, "number \"\(scalar.string)\" is not representable as JSON")
            }
            return number
        default:
            return .string(scalar.string)
        }
    }

    private static func failure(_ file: String, _ mark: Mark?, _ message: String) -> Error {
        Error(file: file, line: mark?.line ?? 0, column: mark?.column ?? 0, message: message)
    }

    private static func error(from error: YamlError, file: String) -> Error {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return Error(file: file, line: mark.line, column: mark.column, message: problem)
        default:
            return Error(file: file, line: 0, column: 0, message: "\(error)")
        }
    }
}
