import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import RegoLite
import Synchronization
import Testing
@testable import DecisionLog

/// A collector on loopback: records each POST (headers, body), answers with the next status.
final class Collector: @unchecked Sendable {
    struct Upload: Sendable {
        let headers: [(String, String)]
        let body: [UInt8]
    }
    let uploads = Mutex<[Upload]>([])
    let statuses = Mutex<[Int]>([])
    private(set) var channel: Channel!
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    func start(statuses: [Int]) throws -> Int {
        self.statuses.withLock { $0 = statuses }
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(collector: self))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        return channel.localAddress!.port!
    }

    func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let collector: Collector
        var head: HTTPRequestHead?
        var body: [UInt8] = []
        init(collector: Collector) { self.collector = collector }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h): head = h; body = []
            case .body(var b): body += b.readBytes(length: b.readableBytes) ?? []
            case .end:
                let headers = head.map { $0.headers.map { ($0.name, $0.value) } } ?? []
                collector.uploads.withLock { $0.append(Upload(headers: headers, body: body)) }
                let status = collector.statuses.withLock { s in s.isEmpty ? 200 : s.removeFirst() }
                var responseHeaders = HTTPHeaders()
                responseHeaders.add(name: "Content-Length", value: "0")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: responseHeaders))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}

@Suite struct HTTPSinkTests {
    @Test func batchesAreUploadedAsGzipJSONArraysWithRetries() async throws {
        let collector = Collector()
        defer { collector.stop() }
        let port = try collector.start(statuses: [503])
        var configuration = DecisionLogger.Configuration()
        var http = HTTPSinkConfiguration(url: "http://127.0.0.1:\(port)/logs")
        http.batchSize = 10
        http.maxRetries = 2
        http.headers = [.init(name: "X-Tenant", value: "t1")]
        configuration.http = http
        configuration.flushInterval = 0.02
        let logger = try DecisionLogger(configuration: configuration)
        logger.start()
        let runner = Task { await logger.run() }
        for i in 0..<25 { logger.log(sampleRecord(i)) }
        logger.flush()
        logger.shutdown()
        await runner.value

        let uploads = collector.uploads.withLock { $0 }
        // The first POST got 503 and was retried with the same records.
        #expect(uploads.count == 4)
        var ids: [String] = []
        for upload in uploads.dropFirst() {
            #expect(upload.headers.contains { $0.0.lowercased() == "content-encoding" && $0.1 == "gzip" })
            #expect(upload.headers.contains { $0.0 == "X-Tenant" && $0.1 == "t1" })
            let array = try JSONReader.parse(bytes: try Gzip.decompress(upload.body))
            ids += (array.arrayValue ?? []).compactMap { $0["request_id"]?.stringValue }
        }
        #expect(ids == (0..<25).map { "req-\($0)" })
        #expect(try Gzip.decompress(uploads[0].body) == Gzip.decompress(uploads[1].body))
        let stats = logger.statistics
        #expect(stats.httpSent == 25 && stats.httpDropped == 0 && stats.httpFailedUploads == 1)
    }

    @Test func aCollectorThatKeepsFailingCostsCountedRecordsOnly() async throws {
        let collector = Collector()
        defer { collector.stop() }
        let port = try collector.start(statuses: Array(repeating: 500, count: 100))
        var configuration = DecisionLogger.Configuration()
        var http = HTTPSinkConfiguration(url: "http://127.0.0.1:\(port)/logs")
        http.batchSize = 5
        http.maxRetries = 0
        configuration.http = http
        configuration.flushInterval = 0.02
        let logger = try DecisionLogger(configuration: configuration)
        logger.start()
        let runner = Task { await logger.run() }
        for i in 0..<10 { logger.log(sampleRecord(i)) }
        logger.flush()
        logger.shutdown()
        await runner.value
        let stats = logger.statistics
        #expect(stats.httpSent == 0)
        #expect(stats.httpDropped == 10)
        #expect(logger.ring.count == 10, "the ring and the file never depend on the collector")
    }
}
