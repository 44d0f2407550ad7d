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
        let report = try ConformanceRunner().run(directory: Self.corpus)
        if ProcessInfo.processInfo.environment["REGOLITE_CASES_VERBOSE"] != nil {
            for r in report.results where r.outcome != .passed { print("[\(r.outcome.rawValue)] \(r.file) \(r.note): \(r.detail.prefix(400))") }
        }
        print("conformance: \(report.passed) passed, \(report.unsupported) unsupported, \(report.wrong) wrong of \(report.results.count)")
        for r in report.results where r.outcome == .wrong { print("WRONG \(r.file) \(r.note): \(r.detail.prefix(300))") }
        #expect(report.wrong == 0)
    }
}
