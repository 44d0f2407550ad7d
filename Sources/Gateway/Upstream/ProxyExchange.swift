import NIOCore
import NIOHTTP1

/// What an exchange may do to the client connection it serves (FrontHandler): stream the response
/// to it, end or abort it, answer it with an error, hand it over to a WebSocket splice, and hold
/// back or resume reading its request body. The connection's state is its own.
protocol ExchangeClient: AnyObject {
    func writeInformational(_ head: UpstreamResponseHead, ctx: RequestContext)
    func writeResponseHead(_ head: UpstreamResponseHead, ctx: RequestContext)
    func writeResponseBody(_ body: ByteBuffer)
    func flush()
    /// The response ended and the request did too: the next request, or the close.
    func exchangeFinished(_ ctx: RequestContext)
    /// The response ended before the request body did (the exchange then drains it upstream).
    func responseEndedBeforeRequest(_ ctx: RequestContext)
    /// The exchange failed after the response started: only a close can tell the client.
    func abortConnection()
    func reject(_ ctx: RequestContext, _ error: GatewayError, forceClose: Bool)
    func startTunnel(_ ctx: RequestContext, response: UpstreamResponseHead, upstream: UpstreamConnection, route: RuntimeRoute)
    func recordUpstream(route: String, seconds: Double)
    func pauseReading()
    func resumeReading()
}

/// Phase 6 for one request: a pooled upstream connection, the request streamed up and the
/// response streamed down with back-pressure both ways (neither side's body is ever held whole),
/// connect and read timeouts, and retries on another connection only for idempotent methods and
/// only before the upstream saw a byte of this request. Lives on the client's event loop.
final class ProxyExchange {
    enum Phase: Equatable {
        case connecting
        /// Request head written; the request body may still be streaming.
        case forwarding
        /// Response head sent to the client; its body is streaming.
        case responding
        /// The response reached the client whole before the request body reached the upstream (an
        /// upstream that answers early): the rest of the body still goes up, then the upstream
        /// connection is kept for the next request.
        case draining
        /// The upstream answered 101: the splice follows at once.
        case upgrading
        case finished
    }

    /// Strong: the front's state holds the exchange until the request ends or the client goes away.
    private let front: any ExchangeClient
    let ctx: RequestContext
    let route: RuntimeRoute
    private let pool: UpstreamPool
    private let websocket: Bool
    private(set) var phase = Phase.connecting
    private var attempt = 0
    private lazy var firstUpstream = route.firstUpstreamIndex()
    private var connection: UpstreamConnection?
    private var requestEndSent = false
    private var upstreamKeepAlive = true
    private var upstreamStart = NIODeadline.uptimeNanoseconds(0)  // set by start()
    private var needsFlush = false
    /// The client sent a chunked body: it goes upstream in chunks again (the decoder removed them).
    private var chunkedBody = false
    /// The upstream's 101, sent on when the splice starts.
    private var upgradeHead: UpstreamResponseHead?

    static let idempotent: Set<String> = ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]

    init(front: any ExchangeClient, ctx: RequestContext, route: RuntimeRoute, pool: UpstreamPool, websocket: Bool) {
        self.front = front
        self.ctx = ctx
        self.route = route
        self.pool = pool
        self.websocket = websocket
    }

    var responseStarted: Bool { phase == .responding || phase == .draining }

    func start() {
        upstreamStart = .now()
        connect()
    }

    private func connect() {
        let target = route.upstream(start: firstUpstream, attempt: attempt)
        if let idle = pool.takeIdle(target) {
            attach(idle, target: target)
            return
        }
        pool.connect(target, connectTimeout: .nanoseconds(Int64(route.connectTimeout * 1e9))).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let connection): attach(connection, target: target)
            case .failure(let error): connectFailed(error, target: target)
            }
        }
    }

    private func attach(_ connection: UpstreamConnection, target: UpstreamTarget) {
        guard phase == .connecting else {
            // The client went away while connecting: the connection is clean, keep it.
            pool.release(connection, maxIdle: route.poolSize)
            return
        }
        self.connection = connection
        connection.handler.prepare(for: self, requestIsHEAD: ctx.head.method == .HEAD)
        let channel = connection.channel
        var out = channel.allocator.buffer(capacity: 512 + ctx.head.uri.utf8.count + ctx.headBytes)
        chunkedBody = HeaderRules.writeUpstreamRequestHead(ctx, route: route, target: target, websocket: websocket, into: &out,
                                                            scratch: &pool.headScratch)
        channel.write(out, promise: nil)
        for part in ctx.pendingBody { writeBody(part, to: channel) }
        ctx.pendingBody = []
        if ctx.requestEnded {
            requestEndSent = true
            if chunkedBody { channel.write(WireFormat.lastChunk, promise: nil) }
        }
        channel.flush()
        phase = .forwarding
        armReadTimeout()  // re-armed by every body part sent: a long upload is progress, not a stall
        if !ctx.requestEnded && channel.isWritable { front.resumeReading() }
    }

    private func writeBody(_ body: ByteBuffer, to channel: Channel) {
        guard body.readableBytes > 0 else { return }
        if chunkedBody {
            WireFormat.writeChunk(body, allocator: channel.allocator) { channel.write($0, promise: nil) }
        } else {
            channel.write(body, promise: nil)
        }
    }

    private func connectFailed(_ error: Error, target: UpstreamTarget) {
        guard phase == .connecting else { return }
        if attempt < route.retries && Self.idempotent.contains(ctx.method) {
            attempt += 1
            connect()
            return
        }
        phase = .finished
        if case ChannelError.connectTimeout = error {
            front.reject(ctx, GatewayError(status: .gatewayTimeout, code: .upstreamTimeout,
                                           message: "connecting to the upstream timed out",
                                           details: [("upstream", .string(target.description))]), forceClose: false)
        } else {
            front.reject(ctx, GatewayError(status: .badGateway, code: .upstreamUnavailable,
                                           message: "the upstream is not reachable",
                                           details: [("upstream", .string(target.description))]), forceClose: false)
        }
    }

    // MARK: request body (from the client)

    func requestBody(_ body: ByteBuffer) {
        guard let connection, phase == .forwarding || phase == .responding || phase == .draining, !requestEndSent else {
            if phase == .connecting { ctx.pendingBody.append(body) }
            return
        }
        writeBody(body, to: connection.channel)
        needsFlush = true
        if phase != .responding { armReadTimeout() }
    }

    func requestEnd() {
        guard let connection, phase == .forwarding || phase == .responding || phase == .draining, !requestEndSent else { return }
        requestEndSent = true
        needsFlush = false
        if chunkedBody { connection.channel.write(WireFormat.lastChunk, promise: nil) }
        connection.channel.flush()
        if phase == .forwarding { armReadTimeout() }
        if phase == .draining {
            phase = .finished
            self.connection = nil
            connection.handler.exchange = nil
            pool.release(connection, maxIdle: route.poolSize)
            front.exchangeFinished(ctx)
        }
    }

    /// After the client's read burst: one flush for all body parts written.
    func flushUpstream() {
        if needsFlush, let connection {
            needsFlush = false
            connection.channel.flush()
        }
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        guard !requestEndSent else { return }
        if writable { front.resumeReading() } else { front.pauseReading() }
    }

    // MARK: response (from the upstream)

    func upstreamHead(_ head: UpstreamResponseHead) {
        if phase == .draining {
            // A second response to one request: the connection cannot be trusted with another.
            connection?.channel.close(promise: nil)
            upstreamClosed(error: nil)
            return
        }
        guard phase == .forwarding else { return }
        if head.status / 100 == 1 && head.status != 101 {
            front.writeInformational(head, ctx: ctx)
            return
        }
        let now = NIODeadline.now()
        front.recordUpstream(route: route.id, seconds: Double((now - upstreamStart).nanoseconds) / 1e9)
        if head.status == 101 {
            guard websocket, connection != nil else {
                fail(GatewayError(status: .badGateway, code: .upstreamUnavailable, message: "the upstream switched protocols unexpectedly"))
                return
            }
            phase = .upgrading
            upgradeHead = head
            return
        }
        upstreamKeepAlive = head.keepAlive
        phase = .responding
        armReadTimeout(now: now)
        front.writeResponseHead(head, ctx: ctx)
    }

    func upstreamBody(_ body: ByteBuffer) {
        guard phase == .responding else { return }
        armReadTimeout()
        // Back-pressure follows the client's writability events (clientWritabilityChanged): pausing on
        // a polled `isWritable` here could miss the event that resumes.
        front.writeResponseBody(body)
    }

    func upstreamReadComplete() {
        if phase == .responding { front.flush() }
    }

    func clientWritabilityChanged(_ writable: Bool) {
        guard phase == .responding, let connection else { return }
        if writable {
            connection.handler.resumeReading()
        } else {
            // Pause before flushing: the flush can make the channel writable again at once, and
            // that event (delivered inside the flush) must find the upstream already paused.
            connection.handler.pauseReading()
            front.flush()
        }
    }

    /// The 101's head was read: from here on, bytes are frames.
    func upstreamUpgraded() {
        guard phase == .upgrading, let head = upgradeHead, let connection else { return }
        phase = .finished
        self.connection = nil
        connection.handler.exchange = nil
        front.startTunnel(ctx, response: head, upstream: connection, route: route)
    }

    /// What is left of the request body may still go upstream after the response ended
    /// (`limits.discard_body_bytes`), which keeps the upstream connection, rather than closing it.
    private var restOfBodyIsSmall: Bool {
        let limit = ctx.config.configuration.limits.discardBodyBytes
        return ctx.contentLength.map { $0 - ctx.bodyBytesReceived <= limit } ?? true
    }

    func upstreamEnd() {
        guard phase == .responding else { return }
        if !requestEndSent && upstreamKeepAlive && connection != nil && restOfBodyIsSmall {
            phase = .draining
            connection?.handler.resumeReading()  // paused by a slow client, it must read its next exchange
            armReadTimeout()
            front.responseEndedBeforeRequest(ctx)
            return
        }
        phase = .finished
        if let connection {
            self.connection = nil
            connection.handler.exchange = nil
            connection.handler.resumeReading()
            if upstreamKeepAlive && requestEndSent {
                pool.release(connection, maxIdle: route.poolSize)
            } else {
                connection.channel.close(promise: nil)
            }
        }
        front.exchangeFinished(ctx)
    }

    /// The upstream connection closed or failed.
    func upstreamClosed(error: Error?) {
        if phase == .draining {
            // The client has its response; what is left of its body has nowhere to go.
            phase = .finished
            connection?.handler.exchange = nil
            connection = nil
            front.exchangeFinished(ctx)
            return
        }
        if phase == .upgrading { phase = .forwarding }
        guard phase == .forwarding || phase == .responding else { return }
        let reused = connection?.reused ?? false
        connection?.handler.exchange = nil
        connection = nil
        if phase == .responding {
            phase = .finished
            front.abortConnection()
            return
        }
        // No response byte yet. A reused keep-alive connection the upstream had already closed is
        // retried on a new one when nothing but the head could have been consumed.
        if reused && !ctx.hasBody && Self.idempotent.contains(ctx.method) {
            phase = .connecting
            connect()
            return
        }
        fail(GatewayError(status: .badGateway, code: .upstreamUnavailable, message: "the upstream closed the connection without a response"))
    }

    private func fail(_ error: GatewayError) {
        phase = .finished
        connection?.handler.exchange = nil
        connection?.channel.close(promise: nil)
        connection = nil
        front.reject(ctx, error, forceClose: false)
    }

    /// The client went away or the gateway answered itself: drop the upstream connection.
    func abort() {
        guard phase != .finished else { return }
        phase = .finished
        if let connection {
            connection.handler.exchange = nil
            connection.channel.close(promise: nil)
            self.connection = nil
        }
    }

    // MARK: timeouts

    /// Notes progress toward the upstream's read deadline. The timer belongs to the connection
    /// and outlives the exchange (UpstreamConnection.watch): scheduling and cancelling a task
    /// per request would cost more than the rest of the bookkeeping.
    private func armReadTimeout(now: NIODeadline = .now()) {
        guard let connection else { return }
        connection.lastActivity = now
        connection.watch(timeout: route.readTimeout)
    }

    /// Called by the connection's timer when `route.readTimeout` passed without progress.
    func readDeadlinePassed() {
        guard phase == .forwarding || phase == .responding || phase == .draining else { return }
        readTimedOut()
    }

    private func readTimedOut() {
        switch phase {
        case .forwarding:
            fail(GatewayError(status: .gatewayTimeout, code: .upstreamTimeout,
                              message: "the upstream did not answer within \(route.readTimeout) s"))
        case .responding:
            phase = .finished
            connection?.handler.exchange = nil
            connection?.channel.close(promise: nil)
            connection = nil
            front.abortConnection()
        case .draining:
            // The rest of the body stopped coming: the response is out, both connections close.
            phase = .finished
            connection?.handler.exchange = nil
            connection?.channel.close(promise: nil)
            connection = nil
            front.exchangeFinished(ctx)
        case .connecting, .finished, .upgrading:
            break
        }
    }
}
