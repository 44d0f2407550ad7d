import Foundation
import Yams

/// Loads routes.yaml (docs/ROUTES.md): YAML → validated `GatewayConfiguration`, with the
/// environment switches applied. Every problem in the file is reported at once, each with its
/// `file:line:col`; nothing is half-loaded.
public enum ConfigLoader {
    /// Larger files are refused unread.
    public static let maxFileBytes = 4 << 20

    /// Reads and validates the file at `path`. Relative paths inside it (`policy.directory`,
    /// `jwks_file`) are resolved against the file's directory; `source` is `path` as given.
    public static func load(path: String,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> GatewayConfiguration {
        let text: String
        switch readText(path) {
        case .success(let value): text = value
        case .failure(let failure):
            var problems = failure.problems
            do { _ = try Switches.read(environment: environment) } catch { problems += error.problems }
            throw ConfigError(problems: problems)
        }
        return try parse(yaml: text, source: path, environment: environment)
    }

    /// Validates YAML text. `source` names it in problems and in `GatewayConfiguration.source`;
    /// relative paths are resolved against its directory (the current directory when `source`
    /// has none, e.g. `<stdin>`).
    public static func parse(yaml: String, source: String,
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> GatewayConfiguration {
        var problems: [ConfigError.Problem] = []
        var switches = SwitchState()
        do { switches = try Switches.read(environment: environment) } catch { problems += error.problems }

        let reader = ConfigReader(source: source, baseDirectory: FilePaths.directory(of: source))
        reader.environment = environment
        var configuration: GatewayConfiguration?
        let composed = compose(yaml, source: source)
        problems += composed.problems
        switch composed.root {
        case nil:
            if composed.problems.isEmpty {
                problems.append(.init(file: source, line: 0, column: 0,
                                      message: "the file is empty; expected a mapping with at least 'routes' (see docs/ROUTES.md)"))
            }
        case let root?:
            if case .mapping = root {
                configuration = reader.readConfiguration(root)
            } else {
                reader.error("expected a mapping (key: value lines) at the top level, found \(root.kindDescription)", at: root)
            }
            problems += reader.problems
        }
        guard problems.isEmpty, var config = configuration else { throw ConfigError(problems: problems) }
        config.source = source
        return Switches.apply(switches, to: config)
    }

    /// The document's root, or the YAML-level problems. A repeated key is masked and the text
    /// composed again, so the problems after it are found too (the result then still fails).
    private static func compose(_ original: String, source: String) -> (root: Node?, problems: [ConfigError.Problem]) {
        let complexKeys = YAMLPreflight.complexKeys(in: original)
        if !complexKeys.isEmpty {
            return (nil, complexKeys.map { .init(file: source, line: $0.0.line, column: $0.0.column, message: $0.1) })
        }
        var text = original
        var problems: [ConfigError.Problem] = []
        for serial in 0..<100 {
            do {
                return (try Yams.compose(yaml: text, .basic), problems)
            } catch let error as YamlError {
                guard let duplicate = YAMLSyntaxErrors.duplicateKey(error, source: source, text: text) else {
                    return (nil, problems + YAMLSyntaxErrors.problems(error, source: source, text: text))
                }
                problems.append(duplicate.problem)
                guard let repeated = duplicate.repeated else { return (nil, problems) }
                text = TextPositions.masking(text, at: repeated.position, length: repeated.length, serial: serial)
            } catch {
                return (nil, problems + YAMLSyntaxErrors.problems(error, source: source, text: text))
            }
        }
        return (nil, problems)
    }

    private static func readText(_ path: String) -> Result<String, ConfigError> {
        func problem(_ message: String, _ position: Position? = nil) -> ConfigError {
            ConfigError(problems: [.init(file: path, line: position?.line ?? 0, column: position?.column ?? 0, message: message)])
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return .failure(problem("no such file"))
        }
        if isDirectory.boolValue { return .failure(problem("is a directory, not a configuration file")) }
        guard let handle = FileHandle(forReadingAtPath: path) else { return .failure(problem("cannot be read (permission denied?)")) }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maxFileBytes + 1) ?? Data()
        } catch {
            return .failure(problem("cannot be read: \(error.localizedDescription)"))
        }
        if data.count > maxFileBytes { return .failure(problem("is larger than \(maxFileBytes >> 20) MiB; not a routes file?")) }
        let bytes = Array(data)
        return TextPositions.decodeUTF8(bytes).mapError { invalid in
            problem("is not valid UTF-8 (byte \(invalid.offset))", TextPositions.position(ofByte: invalid.offset, in: bytes))
        }
    }
}
