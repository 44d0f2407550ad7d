import Foundation
import JOSE
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A real HTTP server on 127.0.0.1 playing an OIDC issuer: discovery and a JWKS whose keys,
/// status, delay, Cache-Control and body can be switched while tests run.
final class FakeIssuer: Sendable {
    struct Behaviour: Sendable {
        var keys: [(kid: String, key: PrivateKey)] = []
        var status: Int = 200
        var delay: Double = 0
        var cacheControl: String? = "max-age=600"
        var etag: String? = nil
        var discoveredIssuer: String? = nil
        var bodyOverride: [UInt8]? = nil
    }

    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel: Channel
    let behaviour = Mutex(Behaviour())
    let requests = Mutex<[String: Int]>([:])
    /// If-None-Match values seen, in order.
    let conditionalRequests = Mutex<[String]>([])

    var port: Int { channel.localAddress!.port! }
    var issuer: String { "http://127.0.0.1:\(port)/realms/test" }
    var jwksURL: String { "http://127.0.0.1:\(port)/realms/test/protocol/openid-connect/certs" }

    init() throws {
        let box = HandlerBox()
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(server: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        box.server.withLock { $0 = self }
    }

    func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    func count(_ suffix: String) -> Int {
        requests.withLock { $0.filter { $0.key.hasSuffix(suffix) }.values.reduce(0, +) }
    }

    var jwksFetches: Int { count("/certs") }
    var discoveryFetches: Int { count("/openid-configuration") }

    fileprivate func respond(path: String, ifNoneMatch: String?) -> (status: Int, headers: [(String, String)], body: [UInt8], delay: Double) {
        requests.withLock { $0[path, default: 0] += 1 }
        let b = behaviour.withLock { $0 }
        if path.hasSuffix("/.well-known/openid-configuration") {
            let doc: JSONValue = ["issuer": .string(b.discoveredIssuer ?? issuer), "jwks_uri": .string(jwksURL)]
            return (200, [("Content-Type", "application/json")], Array(doc.serialized().utf8), 0)
        }
        guard path.hasSuffix("/certs") else { return (404, [], [], 0) }
        if let ifNoneMatch { conditionalRequests.withLock { $0.append(ifNoneMatch) } }
        guard b.status == 200 else { return (b.status, [], Array("failure".utf8), b.delay) }
        var headers: [(String, String)] = [("Content-Type", "application/json")]
        if let cacheControl = b.cacheControl { headers.append(("Cache-Control", cacheControl)) }
        if let etag = b.etag {
            headers.append(("ETag", etag))
            if ifNoneMatch == etag { return (304, headers, [], b.delay) }
        }
        if let body = b.bodyOverride { return (200, headers, body, b.delay) }
        let keys: [JSONValue] = b.keys.map { entry in
            var jwk = entry.key.publicKey.jwk()
            jwk["kid"] = .string(entry.kid)
            jwk["use"] = "sig"
            return .object(jwk)
        }
        return (200, headers, Array(JSONValue.object(["keys": .array(keys)]).serialized().utf8), b.delay)
    }
}

private final class HandlerBox: Sendable {
    let server = Mutex<FakeIssuer?>(nil)
}

private final class Handler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let server: HandlerBox
    var head: HTTPRequestHead?

    init(server: HandlerBox) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head, let issuer = server.server.withLock({ $0 }) else { return }
            let reply = issuer.respond(path: head.uri, ifNoneMatch: head.headers.first(name: "If-None-Match"))
            let loop = context.eventLoop
            let contextBox = NIOLoopBound(context, eventLoop: loop)
            let send = {
                let context = contextBox.value
                var headers = HTTPHeaders(reply.headers)
                headers.add(name: "Content-Length", value: String(reply.body.count))
                let responseHead = HTTPResponseHead(version: head.version, status: HTTPResponseStatus(statusCode: reply.status), headers: headers)
                context.write(self.wrapOutboundOut(.head(responseHead)), promise: nil)
                var buffer = context.channel.allocator.buffer(capacity: reply.body.count)
                buffer.writeBytes(reply.body)
                context.write(self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            }
            if reply.delay > 0 {
                loop.scheduleTask(in: .milliseconds(Int64(reply.delay * 1000))) { send() }
            } else {
                send()
            }
        }
    }
}

/// A clock tests move by hand.
final class TestClock: Sendable {
    private let time: Mutex<Double>
    init(_ start: Double = 1_800_000_000) { time = Mutex(start) }
    var now: Double { time.withLock { $0 } }
    func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
}
