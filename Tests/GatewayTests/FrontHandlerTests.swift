import GatewayConfig
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import PolicyStore
import Testing
@testable import Gateway

/// FrontHandler on an EmbeddedChannel: the connection-level behaviour that does not need an
/// upstream (answers the gateway gives itself, requests in a row, quiescing at shutdown). Requests
/// held back while an upstream exchange is in progress are covered end to end
/// (e2e/test_gateway.py, pipelined requests).
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

    static func request(_ uri: String, id: String) -> HTTPRequestHead {
        Fixture.head(.GET, uri, [("Host", "api.local"), ("X-Request-ID", id)])
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
        for (uri, id) in [("/a", "r-1"), ("/b", "r-2"), ("/c", "r-3")] {
            try channel.writeInbound(HTTPServerRequestPart.head(Self.request(uri, id: id)))
            try channel.writeInbound(HTTPServerRequestPart.end(nil))
        }
        let answered = try Self.responses(channel)
        #expect(answered.map(\.0) == [404, 404, 404])
        #expect(answered.map(\.1) == ["r-1", "r-2", "r-3"])
        #expect(channel.isActive)
    }

    @Test func quiescingClosesAnIdleConnectionAtOnce() throws {
        let channel = try Self.channel()
        try channel.writeInbound(HTTPServerRequestPart.head(Self.request("/a", id: "r-1")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(try Self.responses(channel).map(\.0) == [404])
        #expect(channel.isActive)
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!channel.isActive)
    }

    @Test func quiescingLetsTheRequestInProgressEndThenCloses() throws {
        let channel = try Self.channel()
        // Answered as soon as the head is read; the request itself has not ended yet.
        try channel.writeInbound(HTTPServerRequestPart.head(Self.request("/a", id: "r-1")))
        #expect(try Self.responses(channel).map(\.0) == [404])
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(channel.isActive, "the request in progress is not cut off")
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(!channel.isActive, "closed once the request ended")
    }
}
