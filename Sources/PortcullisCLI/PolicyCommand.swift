import ArgumentParser
import Foundation
import PolicyStore
import RegoLite

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Evaluate, test and check Rego policies with the built-in rego-lite engine.",
        version: Portcullis.version,
        subcommands: [Eval.self, Test.self, Check.self, Cases.self, Sync.self]
    )
}

/// Prints every error of a failed load/compile with its location, source line and caret.
func describe(_ error: Error) -> String {
    switch error {
    case let error as RegoErrors: error.errors.map(\.detailed).joined(separator: "\n")
    case let error as RegoError: error.detailed
    default: "\(error)"
    }
}

func loadBundle(_ paths: [String]) throws -> PolicyBundle {
    do { return try PolicyBundle.load(paths: paths) } catch {
        FileOutput.standardError.write("error: \(error)\n")
        throw ExitCode(2)
    }
}

extension PolicyCommand {
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate a query, like `opa eval`.",
            discussion: """
                --format json prints OPA's result shape {"result": [{"expressions": [...], "bindings": {...}}]}
                ({} when undefined). Exit status: 0 when evaluation completed (defined or not), 1 on a
                parse, compile or evaluation error, 2 on a usage error.
                """,
            version: Portcullis.version
        )

        @Option(name: [.short, .customLong("data")], help: "A policy or data file, or a bundle directory (repeatable).")
        var data: [String] = []

        @Option(name: [.short, .customLong("input")], help: "The input document (JSON or YAML file, - for stdin).")
        var input: String?

        @Option(help: "json or pretty.")
        var format: OutputFormat = .json

        @Flag(help: "Builtin errors halt evaluation (OPA's --strict-builtin-errors).")
        var strictBuiltinErrors = false

        @Argument(help: "The query, e.g. data.systemupdate.authz.allow")
        var query: String

        enum OutputFormat: String, ExpressibleByArgument { case json, pretty }

        func run() throws {
            let bundle = try loadBundle(data)
            var inputValue: Value? = nil
            if let input {
                let text = try InputFiles.read(input, limit: 64 << 20, what: "input")
                do {
                    inputValue = input.hasSuffix(".yaml") || input.hasSuffix(".yml")
                        ? try YAMLDocument.parse(text, file: input) : try JSONReader.parse(text)
                } catch {
                    FileOutput.standardError.write("error: \(input): \(error)\n")
                    throw ExitCode(2)
                }
            }
            let results: [QueryResult]
            let prepared: PreparedQuery
            do {
                let policy = try bundle.engine(includeTests: true).compile()
                prepared = try PreparedQuery(policy: policy, query: query)
                results = try prepared.eval(input: inputValue, options: EvalOptions(strictBuiltinErrors: strictBuiltinErrors))
            } catch {
                FileOutput.standardError.write(describe(error) + "\n")
                throw ExitCode(1)
            }
            switch format {
            case .json:
                let output: Value = results.isEmpty ? .emptyObject
                    : .object(RegoObject(pairs: [(.string("result"), .array(results.map { $0.json(texts: prepared.expressionTexts) }))]))
                FileOutput.standardOutput.write(JSONWriter.write(output, pretty: true) + "\n")
            case .pretty:
                if results.isEmpty {
                    FileOutput.standardOutput.write("undefined\n")
                }
                for result in results {
                    if result.expressions.count == 1 && result.bindings.isEmpty {
                        FileOutput.standardOutput.write(JSONWriter.write(result.expressions[0], pretty: true) + "\n")
                    } else {
                        for (name, value) in result.bindings.sorted(by: { $0.key < $1.key }) {
                            FileOutput.standardOutput.write("\(name) = \(JSONWriter.write(value))\n")
                        }
                        if result.bindings.isEmpty {
                            FileOutput.standardOutput.write(result.expressions.map { JSONWriter.write($0) }.joined(separator: "\n") + "\n")
                        }
                    }
                }
            }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run test_* rules, like `opa test`.",
            discussion: "Exit status: 0 when every test passes, 1 on any failure or error or when no test exists, 2 on a usage error.",
            version: Portcullis.version
        )

        @Argument(help: "Policy files or bundle directories.")
        var paths: [String]

        @Flag(name: .shortAndLong, help: "List every test with its result.")
        var verbose = false

        func run() throws {
            let bundle = try loadBundle(paths)
            let policy: CompiledPolicy
            do { policy = try bundle.engine(includeTests: true).compile() } catch {
                FileOutput.standardError.write(describe(error) + "\n")
                throw ExitCode(1)
            }
            let results = PolicyTestRunner().run(policy)
            guard !results.isEmpty else {
                FileOutput.standardError.write("no test_ rules found in \(paths.joined(separator: " "))\n")
                throw ExitCode(1)
            }
            let failed = results.filter { $0.outcome != .pass }
            for result in results where verbose || result.outcome != .pass {
                let time = String(format: "%.3fms", Double(result.durationNs) / 1e6)
                var line = "\(result.name): \(result.outcome.rawValue) (\(time))"
                if let message = result.message { line += "\n  \(message)" }
                FileOutput.standardOutput.write(line + "\n")
            }
            if verbose || !failed.isEmpty { FileOutput.standardOutput.write(String(repeating: "-", count: 80) + "\n") }
            let passed = results.count - failed.count
            FileOutput.standardOutput.write(failed.isEmpty ? "PASS: \(passed)/\(results.count)\n"
                                            : "PASS: \(passed)/\(results.count)\nFAIL: \(failed.count)/\(results.count)\n")
            if !failed.isEmpty { throw ExitCode(1) }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parse and compile policies; print every error with its location.",
            discussion: "Exit status: 0 when everything compiles, 1 on any error, 2 on a usage error.",
            version: Portcullis.version
        )

        @Argument(help: "Policy files or bundle directories.")
        var paths: [String]

        func run() throws {
            let bundle = try loadBundle(paths)
            var errors: [String] = []
            var engine = PolicyEngine()
            for module in bundle.modules {
                do { try engine.addModule(name: module.path, source: module.source) } catch { errors.append(describe(error)) }
            }
            if errors.isEmpty {
                do {
                    for document in bundle.data { try engine.addData(document.value, at: document.prefix) }
                    _ = try engine.compile()
                } catch {
                    errors.append(describe(error))
                }
            }
            if errors.isEmpty {
                FileOutput.standardOutput.write("ok: \(bundle.modules.count) modules, \(bundle.data.count) data documents\n")
                return
            }
            FileOutput.standardError.write(errors.joined(separator: "\n") + "\n")
            throw ExitCode(1)
        }
    }

    struct Cases: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run OPA-format conformance case files (JSON or YAML) and report per folder.",
            discussion: """
                A case is passed, unsupported (a compile error naming a feature rego-lite does not have)
                or wrong (any other difference). Prints per folder, then `N passed, N failed`
                (failed = unsupported + wrong). Exit status 1 if any answer is wrong.
                """,
            version: Portcullis.version
        )

        @Flag(help: "Print {\"passed\", \"unsupported\", \"wrong\", \"folders\"} as JSON.")
        var json = false

        @Flag(name: .shortAndLong, help: "Print every unsupported or wrong case.")
        var verbose = false

        @Option(help: "A file listing folders (one per line) that must pass fully; any regression exits 1.")
        var requirePassing: String?

        @Argument(help: "Directories (or files) of case files.")
        var paths: [String]

        func run() throws {
            var report = ConformanceRunner.Report()
            let runner = ConformanceRunner()
            for path in paths {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                    FileOutput.standardError.write("error: \(path): no such file or directory\n")
                    throw ExitCode(2)
                }
                let root = URL(fileURLWithPath: path).standardizedFileURL
                var files: [URL] = []
                if isDirectory.boolValue {
                    let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles])
                    while let url = enumerator?.nextObject() as? URL {
                        if ["json", "yaml", "yml"].contains(url.pathExtension) { files.append(url.standardizedFileURL) }
                    }
                } else {
                    files = [root]
                }
                let base = isDirectory.boolValue ? root.path : root.deletingLastPathComponent().path
                for url in files.sorted(by: { $0.path < $1.path }) {
                    let relative = String(url.path.dropFirst(base.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                    let folder = relative.split(separator: "/").dropLast().joined(separator: "/")
                    let text = try InputFiles.read(url.path, limit: 64 << 20, what: "case file")
                    let document: Value
                    do {
                        document = url.pathExtension == "json" ? try JSONReader.parse(text) : try YAMLDocument.parse(text, file: url.path)
                    } catch {
                        FileOutput.standardError.write("error: \(url.path): \(error)\n")
                        throw ExitCode(2)
                    }
                    guard case .array(let cases)? = document["cases"] else {
                        FileOutput.standardError.write("error: \(url.path): no \"cases\" array\n")
                        throw ExitCode(2)
                    }
                    for testCase in cases {
                        report.add(runner.runCase(testCase, folder: folder, file: relative))
                    }
                }
            }
            if json {
                FileOutput.standardOutput.write(JSONWriter.write(report.json, pretty: true) + "\n")
            } else {
                for (folder, counts) in report.folders.sorted(by: { $0.key < $1.key }) {
                    let name = folder.isEmpty ? "." : folder
                    FileOutput.standardOutput.write("\(name.padding(toLength: max(name.count, 40), withPad: " ", startingAt: 0)) \(counts.passed) passed, \(counts.unsupported) unsupported, \(counts.wrong) wrong\n")
                }
                if verbose {
                    for result in report.results where result.outcome != .passed {
                        FileOutput.standardOutput.write("\(result.outcome.rawValue.uppercased()) \(result.file): \(result.note): \(result.detail)\n")
                    }
                }
                FileOutput.standardOutput.write("\(report.passed) passed, \(report.unsupported + report.wrong) failed\n")
            }
            var regressed: [String] = []
            if let requirePassing {
                let listed = try InputFiles.read(requirePassing, limit: 1 << 20, what: "folder list")
                for line in listed.split(separator: "\n") {
                    let folder = line.trimmingCharacters(in: .whitespaces)
                    guard !folder.isEmpty, !folder.hasPrefix("#") else { continue }
                    let counts = report.folders[folder] ?? ConformanceRunner.FolderCounts()
                    if counts.total == 0 || counts.passed != counts.total { regressed.append(folder) }
                }
                if !regressed.isEmpty {
                    FileOutput.standardError.write("regressed (listed in \(requirePassing) but not fully passing): \(regressed.joined(separator: ", "))\n")
                }
            }
            if report.wrong > 0 || !regressed.isEmpty { throw ExitCode(1) }
        }
    }
}

extension ConformanceRunner.Report {
    mutating func add(_ result: ConformanceRunner.CaseResult) {
        results.append(result)
        var counts = folders[result.folder] ?? ConformanceRunner.FolderCounts()
        switch result.outcome {
        case .passed: counts.passed += 1
        case .unsupported: counts.unsupported += 1
        case .wrong: counts.wrong += 1
        }
        folders[result.folder] = counts
    }
}
