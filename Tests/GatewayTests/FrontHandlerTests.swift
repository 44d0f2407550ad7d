import GatewayConfig
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import PolicyStore
import Testing
@testable import Gateway

/// FrontHandler on an EmbeddedChannel: the connection-level behaviour that does not need an
/// upstream (answers the gateway gives itself, requests in a row, malformed bytes, quiescing at
/// shutdown). Requests held back while an upstream exchange is in progress, and quiescing while one
/// is, are covered end to end (e2e/test_gateway.py: pipelined requests, SIGTERM under load).
@Suite struct FrontHandlerTests {
    /// A channel with one FrontHandler; every path answers 404 (the only route is /devices).
    static func channel() throws -> EmbeddedChannel {
        let loop = EmbeddedEventLoop()
        let runtime = try Fixture.runtime([Fixture.route("devices", [.prefix("/devices")])])
        let core = GatewayCore(config: runtime, authenticator: nil, policy: CurrentPolicy(), metrics: GatewayMetrics(),
                               logger: Logger(label: "test"), decisionLog: nil, eventLoops: [loop])
        let channel = EmbeddedChannel(loop: loop)
        try channel.pipeline.syncOperations.addHandler(FrontHandler(core: core))
        try channel.connect(to: SocketAddress(ipAddress: "203.0.113.7", port: 40000)).wait()
        return channel
    }

    static func request(_ uri: String, id: String) -> String {
        "GET \(uri) HTTP/1.1\r\nHost: api.local\r\nX-Request-ID: \(id)\r\n\r\n"
    }

    static func send(_ channel: EmbeddedChannel, _ text: String) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    /// The responses written so far (bytes, read back with the gateway's own response parser):
    /// (status, X-Request-ID, Connection).
    static func responses(_ channel: EmbeddedChannel) throws -> [(Int, String?, String?)] {
        var bytes = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { bytes.writeBuffer(&part) }
        var out: [(Int, String?, String?)] = []
        var parser = ResponseParser()
        try parser.feed(&bytes, requestIsHEAD: { false }) { event in
            if case .head(let head) = event {
                out.append((head.status, head.values("x-request-id").first, head.values("connection").first))
            }
        }
        #expect(parser.isIdle, "a response was cut short")
        return out
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let channel = try Self.channel()
        // Three requests in one read, then one split across reads.
        try Self.send(channel, Self.request("/a", id: "r-1") + Self.request("/b", id: "r-2") + Self.request("/c", id: "r-3"))
        let split = Self.request("/d", id: "r-4")
        try Self.send(channel, String(split.prefix(10)))
        try Self.send(channel, String(split.dropFirst(10)))
        let answered = try Self.responses(channel)
        #expect(answered.map(\.0) == [404, 404, 404, 404])
        #expect(answered.map(\.1) == ["r-1", "r-2", "r-3", "r-4"])
        #expect(channel.isActive)
    }

    @Test func aMalformedRequestIsA400ThenTheConnectionCloses() throws {
        let channel = try Self.channel()
        try Self.send(channel, "GET /a HTTP/1.1\r\nHost: api.local\r\nX-Folded: one\r\n two\r\n\r\n" + Self.request("/b", id: "r-2"))
        let answered = try Self.responses(channel)
        #expect(answered.map(\.0) == [400], "the request behind it is not read")
        #expect(answered.first?.2 == "close")
        #expect(!channel.isActive)
    }

    @Test func anOversizedHeadIsA400BeforeItEnds() throws {
        let channel = try Self.channel()
        // No end of the head in sight: refused once more than the limits allow is buffered.
        try Self.send(channel, "GET /a HTTP/1.1\r\nHost: api.local\r\nX-Big: " + String(repeating: "a", count: 32 * 1024))
        #expect(try Self.responses(channel).map(\.0) == [400])
        #expect(!channel.isActive)
    }

    @Test func quiescingClosesAnIdleConnectionAtOnce() throws {
        let channel = try Self.channel()
        try Self.send(channel, Self.request("/a", id: "r-1"))
        #expect(try Self.responses(channel).map(\.0) == [404])
        #expect(channel.isActive)
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!channel.isActive)
    }
}
