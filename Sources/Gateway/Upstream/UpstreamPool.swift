import NIOCore
import NIOHTTP1
import NIOPosix

/// Keep-alive connections to upstreams, one pool per event loop: a request uses connections of
/// its own loop only, so nothing here is shared between threads and nothing is locked.
final class UpstreamPool: @unchecked Sendable {
    let eventLoop: EventLoop
    /// Idle connections are closed after this long unused.
    let idleTimeout: TimeAmount
    /// Idle connections by upstream address; a handful of addresses, so a list searched in order
    /// (no hashing of host names on every request).
    private var idle: [(target: UpstreamTarget, connections: [UpstreamConnection])] = []
    /// The storage every head made on this loop is built in (HeadBuilder(reusing:)): heads are
    /// made and copied out synchronously, so one per loop serves every connection on it.
    var headScratch: [UInt8] = []

    init(eventLoop: EventLoop, idleTimeout: TimeAmount = .seconds(60)) {
        self.eventLoop = eventLoop
        self.idleTimeout = idleTimeout
    }

    /// A live idle connection to `target`, if one is kept (the request path's usual case,
    /// answered without a future).
    func takeIdle(_ target: UpstreamTarget) -> UpstreamConnection? {
        eventLoop.preconditionInEventLoop()
        guard let slot = idle.firstIndex(where: { $0.target.sameAddress(as: target) }) else { return nil }
        let now = NIODeadline.now()
        while let connection = idle[slot].connections.popLast() {
            if connection.channel.isActive && now - connection.idleSince < idleTimeout {
                connection.reused = true
                return connection
            }
            connection.channel.close(promise: nil)
        }
        return nil
    }

    /// A new connection to `target` (when no idle one is kept: `takeIdle`).
    func connect(_ target: UpstreamTarget, connectTimeout timeout: TimeAmount) -> EventLoopFuture<UpstreamConnection> {
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.autoRead, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(UpstreamHandler(), name: UpstreamHandler.name)
                }
            }
        return bootstrap.connect(host: target.host, port: target.port).flatMapThrowing { channel in
            let handler = try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)
            let connection = UpstreamConnection(channel: channel, handler: handler, target: target)
            channel.closeFuture.assumeIsolated().whenComplete { _ in connection.stopWatching() }
            return connection
        }
    }

    /// Returns a connection whose exchange ended cleanly; beyond `maxIdle` it is closed instead.
    func release(_ connection: UpstreamConnection, maxIdle: Int) {
        eventLoop.preconditionInEventLoop()
        guard connection.channel.isActive else { return }
        connection.handler.exchange = nil
        connection.idleSince = .now()
        let slot: Int
        if let known = idle.firstIndex(where: { $0.target.sameAddress(as: connection.target) }) {
            slot = known
        } else {
            idle.append((connection.target, []))
            slot = idle.count - 1
        }
        if idle[slot].connections.count >= maxIdle { idle[slot].connections.removeAll { !$0.channel.isActive } }  // closed ones are skipped by acquire anyway
        if idle[slot].connections.count >= maxIdle {
            connection.channel.close(promise: nil)
            return
        }
        idle[slot].connections.append(connection)
    }

    func closeAll() {
        for slot in idle { for connection in slot.connections { connection.channel.close(promise: nil) } }
        idle.removeAll()
    }
}

/// One upstream HTTP/1.1 connection; used only on its channel's event loop.
final class UpstreamConnection: @unchecked Sendable {
    let channel: Channel
    let handler: UpstreamHandler
    let target: UpstreamTarget
    var reused = false
    var idleSince: NIODeadline = .now()
    /// The last progress of the exchange in progress (request bytes sent, response bytes read).
    var lastActivity: NIODeadline = .now()
    /// The read-timeout timer: armed once and kept while exchanges follow one another.
    private var watchdog: Scheduled<Void>?
    /// When the armed timer fires.
    private var watchdogDeadline = NIODeadline.distantFuture

    init(channel: Channel, handler: UpstreamHandler, target: UpstreamTarget) {
        self.channel = channel
        self.handler = handler
        self.target = target
    }

    /// Makes sure a timer checks the exchange in progress once `timeout` seconds passed without
    /// progress (`lastActivity`). When it fires it ends the exchange that stalled, re-arms for
    /// the time left of one that progressed, and stops when no exchange is in progress (the next
    /// one arms it again). A timer armed for a later deadline (an earlier exchange's longer
    /// timeout) is moved earlier.
    func watch(timeout: Double) {
        let deadline = lastActivity + .nanoseconds(Int64(timeout * 1e9))
        if watchdog != nil && watchdogDeadline <= deadline { return }
        watchdog?.cancel()
        schedule(at: deadline)
    }

    private func schedule(at deadline: NIODeadline) {
        watchdogDeadline = deadline
        watchdog = channel.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            guard let self else { return }
            self.watchdog = nil
            guard let exchange = self.handler.exchange else { return }
            let due = self.lastActivity + .nanoseconds(Int64(exchange.route.readTimeout * 1e9))
            if NIODeadline.now() < due { self.schedule(at: due) } else { exchange.readDeadlinePassed() }
        }
    }

    /// The connection is closed for good.
    func stopWatching() {
        watchdog?.cancel()
        watchdog = nil
    }
}

/// Reads an upstream connection's responses (ResponseParser: bytes in, heads and body slices
/// out) for the exchange using it, writes what the exchange sends as bytes, and holds back reads
/// while the client cannot take more response bytes (back-pressure).
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    static let name = "portcullis.upstream"

    var exchange: ProxyExchange?
    private var parser = ResponseParser()
    private var requestIsHEAD = false
    /// Bytes the upstream sent right after its 101 (frames of the new protocol), for the splice.
    private(set) var upgradeLeftover: ByteBuffer?
    private var gate = ReadGate()
    private(set) var context: ChannelHandlerContext?
    /// Inside `parser.feed` (channelRead).
    private var feeding = false
    /// The channel went inactive while `feeding`: handled when the feed returns.
    private var closedWhileFeeding = false

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// A new request goes out on this connection.
    func prepare(for exchange: ProxyExchange, requestIsHEAD: Bool) {
        self.exchange = exchange
        self.requestIsHEAD = requestIsHEAD
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if parser.isUpgraded {
            upgradeLeftover.setOrWriteBuffer(&buffer)
            return
        }
        // The sink runs the exchange, which may end, release this connection and start the next
        // request on it, or close it (an upstream that closes after each response): a close
        // inside `feed` is handled once `feed` has returned (`closedWhileFeeding`), so nothing
        // touches `parser` while it is being fed.
        var failure: (any Error)?
        feeding = true
        do {
            try parser.feed(&buffer, requestIsHEAD: { self.requestIsHEAD }) { event in
                // A response with no request (or after the exchange gave up): the connection is unusable.
                guard let exchange = self.exchange else { throw HTTPMessageError("a response nobody asked for") }
                switch event {
                case .head(let head): exchange.upstreamHead(head)
                case .body(let body): exchange.upstreamBody(body)
                case .end: exchange.upstreamEnd()
                }
            }
        } catch {
            failure = error
        }
        feeding = false
        if let failure {
            fail(context, failure)
        } else if parser.isUpgraded {
            if buffer.readableBytes > 0 { upgradeLeftover.setOrWriteBuffer(&buffer) }
            exchange?.upstreamUpgraded()
        }
        if closedWhileFeeding {
            closedWhileFeeding = false
            connectionClosed(context)
        }
    }

    /// Hands over what arrived after the 101 (the splice forwards it first).
    func takeUpgradeLeftover() -> ByteBuffer? {
        defer { upgradeLeftover = nil }
        return upgradeLeftover
    }

    private func fail(_ context: ChannelHandlerContext, _ error: Error) {
        let exchange = self.exchange
        self.exchange = nil
        context.close(promise: nil)
        exchange?.upstreamClosed(error: error)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.upstreamReadComplete()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if feeding {
            closedWhileFeeding = true
            return
        }
        connectionClosed(context)
    }

    /// The connection is gone: a response framed by the close ends, any other exchange fails.
    private func connectionClosed(_ context: ChannelHandlerContext) {
        do {
            try parser.closed { event in
                if case .end = event { exchange?.upstreamEnd() }
            }
            exchange?.upstreamClosed(error: nil)
        } catch {
            exchange?.upstreamClosed(error: error)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(context, error)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        exchange?.upstreamWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) { gate.read(context) }

    func pauseReading() { gate.pause() }

    func resumeReading() { gate.resume(context) }
}
