import Foundation
import RegoLite

/// Policy sources and data read from disk in OPA's bundle layout:
/// - every `*.rego` file, anywhere below a directory;
/// - `data.json` / `data.yaml` / `data.yml` in directory `a/b/` lands at `data.a.b`;
/// - a file named directly lands at the root (`.json`/`.yaml`) or is a module (`.rego`);
/// - `*_test.rego` files are kept apart: tests run them, enforcement never does;
/// - hidden entries (`.git`, `.cache`, ...) are skipped.
public struct PolicyBundle: Sendable {
    public struct Module: Sendable {
        /// Path as given or relative to the directory it was found in.
        public let path: String
        public let source: String
        public var isTest: Bool { path.hasSuffix("_test.rego") }
    }

    public struct DataDocument: Sendable {
        public let path: String
        /// Where the document lands under `data`.
        public let prefix: [String]
        public let value: Value
    }

    public struct LoadError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public private(set) var modules: [Module] = []
    public private(set) var data: [DataDocument] = []

    public init() {}

    mutating func replace(modules: [Module], data: [DataDocument]) {
        self.modules = modules
        self.data = data
    }

    /// Loads every path (file or directory); errors name the file and, for data, line:column.
    public static func load(paths: [String]) throws -> PolicyBundle {
        var bundle = PolicyBundle()
        for path in paths { try bundle.add(path: path) }
        return bundle
    }

    public mutating func add(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LoadError(description: "\(path): no such file or directory")
        }
        if !isDirectory.boolValue {
            try addFile(path, relative: (path as NSString).lastPathComponent, prefix: [], isDataAtRoot: true)
            return
        }
        let root = URL(fileURLWithPath: path).standardizedFileURL
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isDirectoryKey],
                                                              options: [.skipsHiddenFiles]) else {
            throw LoadError(description: "\(path): cannot read the directory")
        }
        var files: [URL] = []
        for case let url as URL in enumerator where (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) != true {
            files.append(url.standardizedFileURL)
        }
        for url in files.sorted(by: { $0.path < $1.path }) {
            let relative = String(url.path.dropFirst(root.path.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            let components = relative.split(separator: "/").map(String.init)
            try addFile(url.path, relative: relative, prefix: Array(components.dropLast()), isDataAtRoot: false)
        }
    }

    private mutating func addFile(_ path: String, relative: String, prefix: [String], isDataAtRoot: Bool) throws {
        let name = (path as NSString).lastPathComponent
        let ext = (name as NSString).pathExtension.lowercased()
        if ext == "rego" {
            modules.append(Module(path: isDataAtRoot ? path : relative, source: try Self.read(path)))
            return
        }
        let isData = isDataAtRoot ? ["json", "yaml", "yml"].contains(ext) : ["data.json", "data.yaml", "data.yml"].contains(name)
        guard isData else { return }
        let text = try Self.read(path)
        let value: Value
        if ext == "json" {
            do { value = try JSONReader.parse(text) } catch let error as JSONError {
                let (line, column) = Self.lineColumn(text, offset: error.offset)
                throw LoadError(description: "\(path):\(line):\(column): \(error.message)")
            }
        } else {
            do { value = try YAMLDocument.parse(text, file: path) } catch let error as YAMLDocument.Error {
                throw LoadError(description: error.description)
            }
        }
        guard case .object = value else {
            throw LoadError(description: "\(path): a data document must be an object at its root")
        }
        data.append(DataDocument(path: isDataAtRoot ? path : relative, prefix: isDataAtRoot ? [] : prefix, value: value))
    }

    private static func read(_ path: String) throws -> String {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw LoadError(description: "\(path): cannot read the file")
        }
        guard let text = String(data: bytes, encoding: .utf8) else {
            throw LoadError(description: "\(path): not UTF-8 text")
        }
        return text
    }

    static func lineColumn(_ text: String, offset: Int) -> (Int, Int) {
        var line = 1, column = 1
        for (index, byte) in text.utf8.enumerated() {
            if index >= offset { break }
            if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 }
        }
        return (line, column)
    }

    /// A policy engine holding these modules (tests included or not) and data.
    public func engine(includeTests: Bool, builtins: BuiltinRegistry = .standard) throws -> PolicyEngine {
        var engine = PolicyEngine(builtins: builtins)
        for module in modules where includeTests || !module.isTest {
            try engine.addModule(name: module.path, source: module.source)
        }
        for document in data {
            do { try engine.addData(document.value, at: document.prefix) } catch let error as RegoError {
                throw LoadError(description: "\(document.path): \(error.message)")
            }
        }
        return engine
    }
}
