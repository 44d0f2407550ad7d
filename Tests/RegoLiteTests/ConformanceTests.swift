import Foundation
import Testing
@testable import RegoLite

/// Runs OPA's conformance corpus from `../shared/opa-cases` (relative to the package root).
@Suite struct ConformanceTests {
    static var corpus: URL {
        // Tests/RegoLiteTests/ConformanceTests.swift -> package root -> ../shared/opa-cases
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("../shared/opa-cases").standardizedFileURL
    }

    @Test func opaCorpusHasNoWrongAnswers() throws {
        guard FileManager.default.fileExists(atPath: Self.corpus.path) else {
            print("conformance: skipped, \(Self.corpus.path) is absent (the OPA case corpus is not in the repository)")
            return
        }
        let only = ProcessInfo.processInfo.environment["REGOLITE_CASES_FILTER"]
        let report = try ConformanceRunner().run(directory: Self.corpus, filter: only.map { f in { $0.hasPrefix(f) } })
        if ProcessInfo.processInfo.environment["REGOLITE_CASES_VERBOSE"] != nil {
            for r in report.results where r.outcome != .passed { print("[\(r.outcome.rawValue)] \(r.file) \(r.note): \(r.detail.prefix(400))") }
        }
        print("conformance: \(report.passed) passed, \(report.unsupported) unsupported, \(report.wrong) wrong of \(report.results.count)")
        if ProcessInfo.processInfo.environment["REGOLITE_CASES_LIST_FOLDERS"] != nil {
            print(report.fullyPassingFolders.map { "FOLDER \($0)" }.joined(separator: "\n"))
        }
        for r in report.results where r.outcome == .wrong { print("WRONG \(r.file) \(r.note): \(r.detail.prefix(300))") }
        #expect(report.wrong == 0)
    }

    /// `rego-lite/conformance-folders.txt`: the OPA case folders that fully pass. The list may only grow.
    static var folderList: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("rego-lite/conformance-folders.txt")
    }

    @Test func listedFoldersKeepPassing() throws {
        guard FileManager.default.fileExists(atPath: Self.corpus.path) else {
            print("conformance folders: skipped, \(Self.corpus.path) is absent")
            return
        }
        let listed = try String(contentsOf: Self.folderList, encoding: .utf8)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        #expect(listed.count > 0)
        #expect(listed == listed.sorted(), "conformance-folders.txt must stay sorted")
        let report = try ConformanceRunner().run(directory: Self.corpus, filter: { rel in listed.contains { rel.hasPrefix($0 + "/") } })
        for folder in listed {
            let c = report.folders[folder]
            #expect(c != nil, "listed folder \(folder) has no cases")
            #expect(c.map { $0.passed == $0.total } == true, "folder \(folder) regressed: \(c.map { "\($0.passed)/\($0.total) passed" } ?? "missing")")
        }
    }
}
