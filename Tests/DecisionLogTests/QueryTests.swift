import Foundation
import RegoLite
import Testing
@testable import DecisionLog

/// What `portcullis decisions query|tail` rests on: filters over written (and rotated) files.
@Suite struct QueryTests {
    /// 300 records over rotated files: every 3rd denied, routes alternate, subjects alice/bob.
    static func writeRotatedLog(_ dir: TemporaryDirectory) throws -> String {
        var configuration = DecisionLogger.Configuration()
        var file = DecisionLogger.Configuration.File(path: dir.path + "/decisions.log")
        file.maxSize = 8 << 10
        file.maxFiles = 1000
        configuration.file = file
        let logger = try DecisionLogger(configuration: configuration)
        logger.start()
        for i in 0..<300 {
            logger.log(sampleRecord(i, allowed: i % 3 != 0, route: i % 2 == 0 ? "devices" : "commands",
                                    sub: i % 5 == 0 ? "bob" : "alice", timestampNs: 1_700_000_000_000_000_000 + Int64(i) * 1_000_000_000))
        }
        logger.shutdown()
        return file.path
    }

    static func files(_ path: String) -> [String] {
        var out = [path]
        var i = 1
        while FileManager.default.fileExists(atPath: "\(path).\(i)") { out.append("\(path).\(i)"); i += 1 }
        return out
    }

    static func run(_ files: [String], _ filter: DecisionFilter) throws -> [String] {
        var skipped = 0
        var ids: [String] = []
        try DecisionFiles.query(files, filter: filter, skipped: &skipped) { summary, _ in ids.append(summary.requestID) }
        return ids
    }

    @Test func filtersApplyAcrossRotatedFilesInWrittenOrder() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = try Self.writeRotatedLog(dir)
        let files = Self.files(path)
        #expect(files.count > 3)
        // Given newest first (as a shell glob sorts them): still read oldest first.
        #expect(try Self.run(files, DecisionFilter()) == (0..<300).map { "req-\($0)" })
        let denied = try Self.run(files, DecisionFilter(allowed: false))
        #expect(denied == stride(from: 0, to: 300, by: 3).map { "req-\($0)" })
        let bobDeniedDevices = try Self.run(files, DecisionFilter(allowed: false, route: "devices", subject: "bob"))
        #expect(bobDeniedDevices == stride(from: 0, to: 300, by: 30).map { "req-\($0)" })
        let since = try Self.run(files, DecisionFilter(sinceNs: 1_700_000_000_000_000_000 + 290 * 1_000_000_000))
        #expect(since == (290..<300).map { "req-\($0)" })
        #expect(try Self.run(files, DecisionFilter(requestID: "req-42")) == ["req-42"])
    }

    @Test func limitKeepsTheNewestMatchesInOrder() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let files = Self.files(try Self.writeRotatedLog(dir))
        #expect(try Self.run(files, DecisionFilter(allowed: false, limit: 3)) == ["req-291", "req-294", "req-297"])
    }

    @Test func aDecisionIDFindsItsRecord() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let files = Self.files(try Self.writeRotatedLog(dir))
        var skipped = 0
        var target: String?
        try DecisionFiles.query(files, filter: DecisionFilter(requestID: "req-123"), skipped: &skipped) { s, _ in target = s.decisionID }
        let id = try #require(target)
        #expect(try Self.run(files, DecisionFilter(decisionID: id.uppercased())) == ["req-123"])
    }

    @Test func linesThatAreNotRecordsAreSkippedAndCounted() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.path + "/mixed.log"
        let record = String(decoding: RecordEncoder(masks: [], labelPairs: []).prepare(sampleRecord(1)).json, as: UTF8.self)
        try "not json\n{\"x\": 1}\n\(record)\n\(record)".write(toFile: path, atomically: true, encoding: .utf8)
        var skipped = 0
        var count = 0
        try DecisionFiles.query([path], filter: DecisionFilter(), skipped: &skipped) { _, _ in count += 1 }
        #expect(count == 2, "the last line has no newline and still counts")
        #expect(skipped == 2)
    }

    @Test func chronologicalOrderPutsRotatedFilesFirst() {
        #expect(DecisionFiles.chronological(["d.log", "d.log.1", "d.log.10", "d.log.2", "other.log"])
            == ["d.log.10", "d.log.2", "d.log.1", "d.log", "other.log"])
    }

    @Test func sinceAcceptsDurationsAndTimes() {
        let now: Int64 = 1_700_000_000_000_000_000
        #expect(DecisionFilter.parseSince("10m", nowNs: now) == now - 600_000_000_000)
        #expect(DecisionFilter.parseSince("1.5h", nowNs: now) == now - 5_400_000_000_000)
        #expect(DecisionFilter.parseSince("2023-11-14T22:13:20Z", nowNs: now) == now)
        #expect(DecisionFilter.parseSince("yesterday", nowNs: now) == nil)
    }

    @Test func adminQueryParametersParse() throws {
        let filter = try DecisionFilter.parse(query: [("allowed", "false"), ("route", "devices"), ("sub", "bob"), ("limit", "5000")],
                                              nowNs: 0).get()
        #expect(filter == DecisionFilter(allowed: false, route: "devices", subject: "bob", limit: 1000))
        #expect(throws: DecisionFilterError.self) { try DecisionFilter.parse(query: [("allowed", "maybe")], nowNs: 0).get() }
        #expect(throws: DecisionFilterError.self) { try DecisionFilter.parse(query: [("colour", "red")], nowNs: 0).get() }
    }

    @Test func tailFollowsAcrossRotation() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.path + "/d.log"
        try "old\n".write(toFile: path, atomically: false, encoding: .utf8)
        let tail = DecisionTail(path: path)
        #expect(try tail.poll().isEmpty, "starts at the end")
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("a\nb".utf8))
        #expect(try tail.poll().map { String(decoding: $0, as: UTF8.self) } == ["a"], "an unterminated line waits")
        handle.write(Data("\nc\n".utf8))
        try handle.close()
        // Rotate: the writer renames and starts a new file.
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        try "d\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(try tail.poll().map { String(decoding: $0, as: UTF8.self) } == ["b", "c", "d"])
        #expect(try tail.poll().isEmpty)
    }
}
