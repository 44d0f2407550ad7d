import Foundation
import RegoLite
import Testing
@testable import DecisionLog

@Suite struct WriterTests {
    static func logger(_ dir: TemporaryDirectory, queueSize: Int = 10_000, overflow: OverflowPolicy = .drop,
                       maxSize: Int64 = 100 << 20, maxFiles: Int = 5, ringSize: Int = 100) throws -> DecisionLogger {
        var configuration = DecisionLogger.Configuration()
        var file = DecisionLogger.Configuration.File(path: dir.path + "/decisions.log")
        file.maxSize = maxSize
        file.maxFiles = maxFiles
        configuration.file = file
        configuration.queueSize = queueSize
        configuration.overflow = overflow
        configuration.ringSize = ringSize
        configuration.batchSize = min(256, queueSize)
        configuration.flushInterval = 0.01
        return try DecisionLogger(configuration: configuration)
    }

    @Test func tenThousandRecordsWithBlockGiveTenThousandLines() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let logger = try Self.logger(dir, queueSize: 64, overflow: .block)
        logger.start()
        // Two producers against a tiny queue: they must wait, never drop.
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            for i in 0..<5_000 { logger.log(sampleRecord(worker * 5_000 + i)) }
        }
        logger.shutdown()
        let lines = allLines(dir.path + "/decisions.log")
        #expect(lines.count == 10_000)
        #expect(Set(lines.compactMap { DecisionSummary(record: json($0))?.requestID }).count == 10_000)
        let stats = logger.statistics
        #expect(stats.dropped == 0 && stats.accepted == 10_000 && stats.written == 10_000)
        #expect(stats.json["written"] == .int(10_000) && stats.json["dropped"] == .int(0))
    }

    @Test func dropWithATinyQueueCountsEveryDrop() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let logger = try Self.logger(dir, queueSize: 4, overflow: .drop)
        logger.start()
        let produced = 20_000
        for i in 0..<produced { logger.log(sampleRecord(i)) }
        logger.shutdown()
        let lines = allLines(dir.path + "/decisions.log").count
        let stats = logger.statistics
        #expect(stats.dropped > 0, "a 4-record queue against a tight loop must overflow")
        #expect(UInt64(lines) + stats.dropped == UInt64(produced))
        #expect(stats.accepted == UInt64(lines))
    }

    @Test func recordsLoggedAfterShutdownAreCountedAsDropped() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let logger = try Self.logger(dir)
        logger.start()
        logger.log(sampleRecord(1))
        logger.shutdown()
        logger.log(sampleRecord(2))
        #expect(allLines(dir.path + "/decisions.log").count == 1)
        #expect(logger.statistics.dropped == 1)
    }

    @Test func flushMakesEveryEarlierRecordVisible() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let logger = try Self.logger(dir)
        logger.start()
        for i in 0..<10 { logger.log(sampleRecord(i)) }
        logger.flush()
        #expect(allLines(dir.path + "/decisions.log").count == 10)
        #expect(logger.ring.count == 10)
        logger.shutdown()
    }

    @Test func rotationKeepsEveryRecord() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let logger = try Self.logger(dir, maxSize: 16 << 10, maxFiles: 100)
        logger.start()
        for i in 0..<1_000 { logger.log(sampleRecord(i)) }
        logger.shutdown()
        let path = dir.path + "/decisions.log"
        #expect(FileManager.default.fileExists(atPath: path + ".2"), "1,000 records of ~500 bytes rotate past 16 KiB more than once")
        let lines = allLines(path)
        #expect(lines.count == 1_000)
        // Oldest first across files, and no file exceeds the limit.
        #expect(lines.compactMap { DecisionSummary(record: json($0))?.requestID } == (0..<1_000).map { "req-\($0)" })
        var i = 1
        while FileManager.default.fileExists(atPath: "\(path).\(i)") {
            let size = (try FileManager.default.attributesOfItem(atPath: "\(path).\(i)")[.size] as? Int) ?? 0
            #expect(size <= 16 << 10)
            i += 1
        }
        #expect(logger.statistics.rotations == i - 1)
    }

    @Test func rotationDropsTheOldestFilesBeyondMaxFiles() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let logger = try Self.logger(dir, maxSize: 4 << 10, maxFiles: 2)
        logger.start()
        for i in 0..<200 { logger.log(sampleRecord(i)) }
        logger.shutdown()
        let path = dir.path + "/decisions.log"
        #expect(FileManager.default.fileExists(atPath: path + ".2"))
        #expect(!FileManager.default.fileExists(atPath: path + ".3"))
        #expect(allLines(path).last.flatMap { DecisionSummary(record: json($0))?.requestID } == "req-199")
    }

    @Test func aRecordHasOPAsFieldsAndOurs() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        var configuration = DecisionLogger.Configuration()
        configuration.file = .init(path: dir.path + "/d.log")
        configuration.labels = [.init("id", "gw-1"), .init("version", "0.5.0")]
        let logger = try DecisionLogger(configuration: configuration)
        logger.start()
        var record = sampleRecord(7, allowed: false, timestampNs: 1_764_032_523_123_456_789)
        record.explanation = Explanation(rule: "data.t.allow", outcomes: [], defaulted: true)
        logger.log(record)
        logger.shutdown()
        let line = try #require(allLines(dir.path + "/d.log").first)
        let value = json(line)
        #expect(value["timestamp"] == .string("2025-11-25T01:02:03.123456789Z"))
        #expect(value["path"] == .string("systemupdate/authz/allow"))
        #expect(value["decision_id"]?.stringValue.flatMap(DecisionID.init) != nil)
        #expect(value["labels"] == json(#"{"id": "gw-1", "version": "0.5.0"}"#))
        #expect(value["metrics"] == json(#"{"timer_rego_query_eval_ns": 1234}"#))
        #expect(value["revision"] == .string("abc123"))
        #expect(value["result"] == .false)
        #expect(value["allowed"] == .false && value["enforced"] == .true && value["status"] == .int(403))
        #expect(value["stage"] == .string("authz"))
        #expect(value["reasons"] == json(#"["no role grants x"]"#))
        #expect(value["explanation"]?["defaulted"] == .true)
        #expect(value["input"]?["token"]?["payload"]?["sub"] == .string("alice"))
    }

    @Test func theRingAnswersQueriesNewestFirst() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let logger = try Self.logger(dir, ringSize: 50)
        logger.start()
        for i in 0..<80 {
            logger.log(sampleRecord(i, allowed: i % 4 != 0, route: i % 2 == 0 ? "devices" : "commands",
                                    sub: i % 3 == 0 ? "bob" : "alice", timestampNs: Int64(i) * 1_000_000_000))
        }
        logger.flush()
        let ring = logger.ring
        #expect(ring.count == 50)
        let denied = ring.query(DecisionFilter(allowed: false))
        #expect(denied.map(\.summary.requestID) == stride(from: 76, through: 32, by: -4).map { "req-\($0)" })
        let bobDevices = ring.query(DecisionFilter(route: "devices", subject: "bob", limit: 2))
        #expect(bobDevices.map(\.summary.requestID) == ["req-78", "req-72"])
        let recent = ring.query(DecisionFilter(sinceNs: 75 * 1_000_000_000))
        #expect(recent.count == 5)
        let id = try #require(recent.first?.summary.decisionID)
        #expect(ring.lookup(decisionID: id.uppercased())?.summary.requestID == "req-79")
        #expect(ring.lookup(decisionID: "00000000-0000-4000-8000-000000000000") == nil)
        #expect(json(String(decoding: DecisionRing.jsonArray(recent), as: UTF8.self)).arrayValue?.count == 5)
        logger.shutdown()
    }

    @Test func anUnwritablePathFailsAtStart() {
        var configuration = DecisionLogger.Configuration()
        configuration.file = .init(path: "/nonexistent-dir-\(UUID().uuidString)/d.log")
        #expect(throws: (any Error).self) { try DecisionLogger(configuration: configuration) }
    }

    @Test func decisionIDsAreUniqueAndParse() {
        let ids = (0..<10_000).map { _ in DecisionID.next() }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(100) {
            #expect(DecisionID(id.description) == id)
            #expect(id.description.count == 36)
        }
    }
}
