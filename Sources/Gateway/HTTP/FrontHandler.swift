import CoreMetrics
import DecisionLog
import Foundation
import Identity
import JOSE
import Logging
import NIOCore
import NIOHTTP1
import RegoLite

/// One client connection: runs DESIGN.md's phases for each request in order (accept, request id,
/// route, authenticate, authorize, upstream, response, log). A phase that answers the client
/// itself short-circuits the rest. Requests are read from the connection's bytes by
/// `RequestDecoder`, one at a time: a pipelined request that arrives while one is in progress
/// stays unread in `received`, with reading paused, until that one is answered.
final class FrontHandler: ChannelDuplexHandler, RemovableChannelHandler, ExchangeClient {
    typealias InboundIn = ByteBuffer
    /// Responses are written as bytes (no response encoder): proxied heads are made by copying
    /// the upstream's field lines (HeaderRules.clientResponseHead), the gateway's own answers by
    /// `GatewayError.response`.
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum State {
        case idle
        /// Phases running or the exchange with the upstream in progress.
        case active(RequestContext, ProxyExchange?)
        /// The gateway answered; what is left of the request body is read and dropped.
        case rejected(RequestContext, closeAfterResponse: Bool)
        /// Spliced to the upstream (WebSocket): HTTP handlers are gone.
        case tunnel
        case closed
    }

    let core: GatewayCore
    private(set) var state: State = .idle
    private(set) var context: ChannelHandlerContext?
    private var sourceIP = ""
    private var gate = ReadGate()
    private var decoder: RequestDecoder
    /// Bytes received and not decoded yet: the rest of a read, or requests pipelined behind the
    /// one in progress.
    private var received = FrontHandler.noBytes
    private static let noBytes = ByteBuffer()
    /// Inside `decodeReceived` (a request answered at once does not start another loop).
    private var decoding = false
    /// The server is shutting down: close after the request in progress.
    private var quiescing = false
    /// Phase 4's state: the connection's last credential (Auth/Authentication.swift).
    private var authentication = Authentication()
    /// The proxied response in progress (HTTP/ClientResponseWriter.swift).
    private let response = ClientResponseWriter()
    /// The metric series this connection's requests were last counted in (GatewayMetrics.RequestSeries).
    private var lastSeries: GatewayMetrics.RequestSeries?
    private var lastUpstreamTimer: (route: String, timer: CoreMetrics.Timer)?
    /// This event loop's upstream pool, which also holds the storage heads are made in.
    private var loopPool: UpstreamPool?
    /// This connection's recent decisions (Policy/DecisionCache.swift).
    private(set) var decisionCache = DecisionCache()
    /// After an early answer: how many more body bytes are read and dropped before the
    /// connection closes instead, and the timer that closes it if they are slow to come.
    private var discardBudget: Int64 = 0
    private var discardTimer: Scheduled<Void>?
    /// Bytes dropped while closing; past `lingeringLimit` the connection closes at once.
    private var lingeringBytes = 0
    static let lingeringLimit = 256 * 1024

    init(core: GatewayCore) {
        self.core = core
        let limits = core.config.configuration.limits
        // Phase 1 applies the limits exactly; the decoder only bounds what is buffered (with room
        // for whitespace that `RequestFields.headerBytes` does not count).
        decoder = RequestDecoder(headLimit: limits.maxHeaderBytes + limits.maxURIBytes + 1024)
    }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        loopPool = core.pool(for: context.eventLoop)
        sourceIP = context.channel.remoteAddress?.ipAddress ?? ""
    }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelActive(context: ChannelHandlerContext) {
        sourceIP = context.channel.remoteAddress?.ipAddress ?? sourceIP
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        discardTimer?.cancel()
        discardTimer = nil
        if case .active(let ctx, let exchange) = state {
            exchange?.abort()
            if ctx.responseStatus == 0 { ctx.responseStatus = 499 }
            finishMetrics(ctx)
        }
        state = .closed
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .rejected(_, closeAfterResponse: true):
            // Closing: what arrives is dropped, up to a bound (a client may upload for a while).
            lingeringBytes += unwrapInboundIn(data).readableBytes
            if lingeringBytes > Self.lingeringLimit { context.close(promise: nil) }
            return
        case .closed, .tunnel:
            return
        case .idle, .active, .rejected:
            break
        }
        var bytes = unwrapInboundIn(data)
        if received.readableBytes == 0 { received = bytes } else { received.writeBuffer(&bytes) }
        decodeReceived()
        // A pipelined request waits for the one in progress, reading no more meanwhile.
        if pipelinedRequestWaits { pauseReading() }
    }

    private var isIdle: Bool { if case .idle = state { return true } else { return false } }

    /// The next request's bytes are here and wait for the one in progress.
    private var pipelinedRequestWaits: Bool { decoder.isAtHead && !isIdle && received.readableBytes > 0 }

    /// Hands what `received` holds to the phases: the request in progress's body and end, and the
    /// next request's head only once the connection is idle. A malformed head is a 400 and the
    /// connection closes; a malformed body ends the exchange and the connection.
    private func decodeReceived() {
        guard !decoding else { return }
        decoding = true
        defer { decoding = false }
        while true {
            if decoder.isAtHead && !isIdle { break }
            let event: RequestDecoder.Event?
            do {
                event = try decoder.next(&received)
            } catch {
                malformedRequest(error)
                return
            }
            guard let event else { break }
            switch event {
            case .head(let head, let fields): begin(head, fields: fields)
            case .body(let body): receiveBody(body)
            case .end: receiveEnd()
            }
            if case .rejected(_, closeAfterResponse: true) = state { break }
            if case .closed = state { break }
        }
        // Not holding on to the read buffer lets the channel use it again for the next read.
        if received.readableBytes == 0 { received = Self.noBytes }
    }

    /// Bytes that are not HTTP/1 as RFC 9112 reads it (smuggling attempts, obs-fold, bad bytes,
    /// an oversized head): a 400 when no request is in progress, otherwise the connection closes.
    private func malformedRequest(_ error: any Error) {
        received = Self.noBytes
        switch state {
        case .idle:
            let message: String
            if let error = error as? HTTPMessageError, error.tooLarge {
                message = "the request headers are larger than allowed"
            } else {
                message = "malformed HTTP request: \(error)"
            }
            reject(bareContext(), .badRequest(message), forceClose: true)
        case .active(let ctx, let exchange):
            core.logger.info("request body unreadable", metadata: ["request_id": "\(ctx.requestID)", "message": "\(error)"])
            exchange?.abort()
            if ctx.responseStatus == 0 { ctx.responseStatus = 400 }
            finishMetrics(ctx)
            state = .closed
            context?.close(promise: nil)
        case .rejected, .tunnel, .closed:
            state = .closed
            context?.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            quiescing = true
            switch state {
            case .idle: context.close(promise: nil)
            case .active(let ctx, _), .rejected(let ctx, _): ctx.keepAlive = false  // `Connection: close`, then close
            case .tunnel, .closed: break
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .active(_, let exchange?) = state { exchange.flushUpstream() }
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .active(_, let exchange?) = state { exchange.clientWritabilityChanged(context.channel.isWritable) }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if case .rejected(_, closeAfterResponse: true) = state { return }  // closing: what arrives is dropped
        if case .active(_, let exchange?) = state { exchange.abort() }
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) { gate.read(context) }

    func pauseReading() { gate.pause() }

    func resumeReading() { gate.resume(context) }

    // MARK: phases

    /// A context for a request whose head could not be read.
    private func bareContext() -> RequestContext {
        RequestContext(head: HTTPRequestHead(version: .http1_1, method: .GET, uri: "/"), config: core.config,
                       requestID: RequestID.mint(), target: NormalizedTarget(path: "/", segments: [], query: nil),
                       sourceIP: sourceIP, host: nil, contentLength: nil, hasBody: false)
    }

    private func begin(_ head: HTTPRequestHead, fields: RequestFields) {
        let config = core.config
        // Phase 2 first so that every answer, even a 400, carries the request id.
        let requestID = RequestID.accept(fields.requestID) ?? RequestID.mint()
        let contentLength = AcceptChecks.contentLength(fields.lengths)
        let ctx = RequestContext(head: head, config: config, requestID: requestID,
                                 target: NormalizedTarget(path: "/", segments: [], query: nil), sourceIP: sourceIP,
                                 host: fields.host, contentLength: contentLength,
                                 hasBody: !fields.transferEncodings.isEmpty || (contentLength ?? 0) > 0, fields: fields)
        state = .active(ctx, nil)
        // A body is held back until the upstream can take it (a request without one needs no
        // pause: a next request stays undecoded until this response ends).
        if ctx.hasBody { pauseReading() }

        // Phase 1: accept.
        if let problem = AcceptChecks.problem(head, fields: fields, limits: config.configuration.limits) {
            reject(ctx, .badRequest(problem), forceClose: true)
            return
        }
        // Phase 3: route, on the normalized path.
        do {
            ctx.target = try PathNormalizer.normalize(head.uri)
        } catch {
            reject(ctx, .badRequest("\(error)"))
            return
        }
        let route: RuntimeRoute
        switch config.router.match(host: ctx.host, path: ctx.target.path, segments: ctx.target.segments, method: ctx.method) {
        case .route(let r):
            route = r
        case .notFound:
            reject(ctx, GatewayError(status: .notFound, code: .notFound, message: "no route for \(ctx.target.path)"))
            return
        case .methodNotAllowed(let allowed):
            reject(ctx, GatewayError(status: .methodNotAllowed, code: .methodNotAllowed,
                                     message: "\(ctx.method) is not allowed on \(ctx.target.path)",
                                     details: [("allowed", .array(allowed.map(Value.string)))],
                                     headers: [("Allow", allowed.joined(separator: ", "))]))
            return
        }
        ctx.route = route
        if let length = ctx.contentLength, length > route.maxBodyBytes {
            reject(ctx, GatewayError(status: .payloadTooLarge, code: .payloadTooLarge,
                                     message: "the request body is larger than \(route.maxBodyBytes) bytes",
                                     details: [("limit", .number(.int(route.maxBodyBytes)))]))
            return
        }
        if route.maxHeaderBytes < config.configuration.limits.maxHeaderBytes, fields.headerBytes > route.maxHeaderBytes {
            reject(ctx, .badRequest("the request headers are larger than \(route.maxHeaderBytes) bytes"))
            return
        }
        // Only WebSocket upgrades on WebSocket routes are forwarded; other upgrade offers are
        // hop-by-hop headers and the request stays HTTP.
        let websocket = AcceptChecks.isWebSocketUpgrade(head, fields: fields)
        // Nothing after an upgrade request is read until the splice (or the refusal) is decided.
        if websocket {
            ctx.upgrading = true
            pauseReading()
        }
        if websocket && route.websocket == nil {
            reject(ctx, .badRequest("route \(route.id) does not accept WebSocket upgrades"))
            return
        }
        // Phase 4: authenticate.
        authenticate(ctx, route: route, websocket: websocket)
    }

    private func authenticate(_ ctx: RequestContext, route: RuntimeRoute, websocket: Bool) {
        authenticated(ctx, route: route, websocket: websocket, authentication.begin(ctx, route: route, websocket: websocket, core: core))
    }

    private func authenticated(_ ctx: RequestContext, route: RuntimeRoute, websocket: Bool, _ outcome: Authentication.Outcome) {
        switch outcome {
        case .anonymous:
            authorize(ctx, route: route, websocket: websocket)
        case .verified(let identity):
            ctx.identity = identity
            decoder.repeatedValue = authentication.kept?.header
            authorize(ctx, route: route, websocket: websocket)
        case .failed(let failure):
            core.metrics.authenticationFailure(code: failure.code)
            if core.decisionLog != nil { ctx.decisionRecord = failure.record(ctx, route: route) }
            reject(ctx, failure.error)
        case .verify(let token, let authenticator):
            guard let loop = context?.eventLoop else { return }
            let started = NIODeadline.now()
            loop.makeFutureWithTask { () async throws -> Authenticator.Verification in
                try await authenticator.verify(String(token), cacheChecked: true)
            }.assumeIsolated().whenComplete { [self] result in
                guard case .active(let current, _) = state, current === ctx else { return }  // the client went away
                core.metrics.jwtVerification(seconds: Double((NIODeadline.now() - started).nanoseconds) / 1e9)
                authenticated(ctx, route: route, websocket: websocket, authentication.finish(ctx, route: route, token: token, result: result))
            }
        }
    }

    private func authorize(_ ctx: RequestContext, route: RuntimeRoute, websocket: Bool) {
        switch Authorization.decide(ctx, route: route, core: core, cache: &decisionCache) {
        case .proceed:
            startExchange(ctx, route: route, websocket: websocket)
        case .reject(let error):
            reject(ctx, error)
        }
    }

    private func startExchange(_ ctx: RequestContext, route: RuntimeRoute, websocket: Bool) {
        guard let context else { return }
        let exchange = ProxyExchange(front: self, ctx: ctx, route: route, pool: pool(context),
                                     websocket: websocket)
        state = .active(ctx, exchange)
        exchange.start()
    }

    // MARK: request body

    private func receiveBody(_ body: ByteBuffer) {
        switch state {
        case .active(let ctx, let exchange):
            ctx.bodyBytesReceived += Int64(body.readableBytes)
            if let route = ctx.route, ctx.bodyBytesReceived > route.maxBodyBytes {
                if let exchange, exchange.responseStarted {
                    exchange.abort()
                    context?.close(promise: nil)
                } else {
                    exchange?.abort()
                    reject(ctx, GatewayError(status: .payloadTooLarge, code: .payloadTooLarge,
                                             message: "the request body is larger than \(route.maxBodyBytes) bytes",
                                             details: [("limit", .number(.int(route.maxBodyBytes)))]), forceClose: true)
                }
                return
            }
            if let exchange { exchange.requestBody(body) } else { ctx.pendingBody.append(body) }
        case .rejected(_, closeAfterResponse: false):
            discardBudget -= Int64(body.readableBytes)
            if discardBudget < 0 { stopDiscarding() }
        case .rejected, .idle, .tunnel, .closed:
            break
        }
    }

    /// The body left after an early answer is larger or slower than `limits.discard_body_*`
    /// allow: the answer is out, so the connection closes (lingering, as after any early close).
    private func stopDiscarding() {
        guard case .rejected(let ctx, closeAfterResponse: false) = state, let context else { return }
        discardTimer?.cancel()
        discardTimer = nil
        state = .rejected(ctx, closeAfterResponse: true)
        received = Self.noBytes
        context.writeAndFlush(wrapOutboundOut(Self.noBytes)).assumeIsolated().whenComplete { [weak self] _ in
            self?.lingeringClose()
        }
    }

    private func receiveEnd() {
        switch state {
        case .active(let ctx, let exchange):
            ctx.requestEnded = true
            exchange?.requestEnd()
        case .rejected(let ctx, let close):
            ctx.requestEnded = true
            discardTimer?.cancel()
            discardTimer = nil
            if !close { finishRequest(ctx) }
        case .idle, .tunnel, .closed:
            break
        }
    }

    // MARK: responses

    /// Answers with a gateway error. Without `forceClose` the connection stays open when the
    /// client may send another request and what is left of this one's body is small enough to
    /// read and drop (`limits.discard_body_bytes`, within `discard_body_timeout`), as nginx
    /// discards the body of a request it answered early.
    func reject(_ ctx: RequestContext, _ error: GatewayError, forceClose: Bool = false) {
        guard let context else { return }
        if case .active(_, let exchange?) = state { exchange.abort() }
        let unreadBody = ctx.hasBody && !ctx.requestEnded
        let limits = ctx.config.configuration.limits
        var discard = false
        if unreadBody && !forceClose && ctx.keepAlive && !ctx.upgrading {
            // A chunked body's size is unknown: what arrives is counted against the same budget.
            let left = ctx.contentLength.map { $0 - ctx.bodyBytesReceived } ?? 0
            discard = left <= limits.discardBodyBytes
            discardBudget = limits.discardBodyBytes
            ctx.pendingBody = []
        }
        let close = forceClose || (unreadBody && !discard) || !ctx.keepAlive
        ctx.responseStatus = Int(error.status.code)
        let out = error.response(ctx, close: close, allocator: context.channel.allocator)
        finishMetrics(ctx)
        if error.status.code >= 500 || error.code == .badRequest {
            core.logger.info("request refused", metadata: ["request_id": "\(ctx.requestID)", "status": "\(error.status.code)",
                                                           "code": "\(error.code.rawValue)", "message": "\(error.message)"])
        }
        if close {
            state = .rejected(ctx, closeAfterResponse: true)
            context.writeAndFlush(wrapOutboundOut(out)).assumeIsolated().whenComplete { [weak self] _ in
                self?.lingeringClose()
            }
            return
        }
        state = .rejected(ctx, closeAfterResponse: false)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        if ctx.requestEnded {
            finishRequest(ctx)
            return
        }
        if unreadBody {
            discardTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(limits.discardBodyTimeout * 1e9))) {
                [weak self] in
                guard let self, case .rejected(let current, closeAfterResponse: false) = self.state, current === ctx else { return }
                self.discardTimer = nil
                self.stopDiscarding()
            }
        }
        resumeReading()  // the rest of the request arrives next: its body is dropped
    }

    /// The head of the upstream's final response; its body follows through `writeResponseBody`.
    func writeResponseHead(_ upstream: UpstreamResponseHead, ctx: RequestContext) {
        guard let context else { return }
        ctx.responseStatus = upstream.status
        response.head(upstream, ctx: ctx, context: context, scratch: &pool(context).headScratch)
    }

    /// A 1xx other than 101 (`100 Continue`): passed on at once.
    func writeInformational(_ upstream: UpstreamResponseHead, ctx: RequestContext) {
        guard let context, ctx.head.version.minor >= 1 else { return }  // HTTP/1.0 clients get no 1xx
        var out = context.channel.allocator.buffer(capacity: upstream.block.readableBytes + 128)
        HeaderRules.clientResponseHead(upstream, ctx: ctx, websocket: false, framing: .none, keepAlive: true, into: &out,
                                       scratch: &pool(context).headScratch)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    func writeResponseBody(_ body: ByteBuffer) {
        guard let context else { return }
        response.body(body, context: context)
    }

    func flush() {
        guard let context else { return }
        response.flush(context)
    }

    /// This event loop's upstream pool (kept from `handlerAdded`).
    private func pool(_ context: ChannelHandlerContext) -> UpstreamPool { loopPool ?? core.pool(for: context.eventLoop) }

    /// The upstream's response ended: finish this request, then take the next one or close.
    func exchangeFinished(_ ctx: RequestContext) {
        guard let context else { return }
        let close = !ctx.keepAlive || !ctx.requestEnded
        let rest = endResponse(ctx)
        if close {
            state = .rejected(ctx, closeAfterResponse: true)
            // Writes complete in order: once this one is out, the whole response is.
            context.writeAndFlush(wrapOutboundOut(rest ?? Self.noBytes)).assumeIsolated().whenComplete { [weak self] _ in
                self?.context?.close(promise: nil)
            }
            return
        }
        if let rest { context.write(wrapOutboundOut(rest), promise: nil) }
        context.flush()
        finishRequest(ctx)
    }

    /// The response is whole but the request body is not (the upstream answered before reading
    /// it all): the client gets the end of its response now; the exchange sends the rest of the
    /// body upstream and then calls `exchangeFinished`.
    func responseEndedBeforeRequest(_ ctx: RequestContext) {
        guard let context else { return }
        if let rest = endResponse(ctx) { context.write(wrapOutboundOut(rest), promise: nil) }
        context.flush()
    }

    /// What is left of the response, once (ClientResponseWriter.end); metrics counted.
    private func endResponse(_ ctx: RequestContext) -> ByteBuffer? {
        finishMetrics(ctx)
        return response.end()
    }

    /// The exchange failed after the response started: the client can only learn it by the close.
    func abortConnection() {
        response.drop()
        if case .active(let ctx, _) = state { finishMetrics(ctx) }
        state = .closed
        context?.close(promise: nil)
    }

    /// Closes after an answer sent while the client may still be sending: the write side first,
    /// then what still arrives is read and dropped for a moment (at most 2 s and
    /// `lingeringLimit` bytes), so the client reads the answer instead of a reset caused by
    /// unread data (nginx's lingering close).
    private func lingeringClose() {
        guard let context else { return }
        context.close(mode: .output, promise: nil)
        resumeReading()
        context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) { [weak self] in
            self?.context?.close(promise: nil)
        }
    }

    /// Back to waiting for the next request on this connection: pipelined parts that already
    /// arrived go first, one request at a time; reading resumes once none is waiting.
    private func finishRequest(_ ctx: RequestContext) {
        state = .idle
        if quiescing {
            received = Self.noBytes
            context?.close(promise: nil)
            return
        }
        if decoding { return }  // answered while decoding: the decoding loop goes on
        decodeReceived()
        guard !pipelinedRequestWaits else { return }
        switch state {
        case .idle:
            resumeReading()
        case .active(let current, _) where !current.upgrading && (!current.hasBody || current.requestEnded):
            resumeReading()
        default:
            break  // a body waits for its upstream connection, which resumes reading
        }
    }

    private func finishMetrics(_ ctx: RequestContext) {
        guard !ctx.metricsRecorded else { return }
        ctx.metricsRecorded = true
        if var record = ctx.decisionRecord, let log = core.decisionLog {
            ctx.decisionRecord = nil
            // The status answered; a dry-run denial keeps the status it would have had.
            if record.allowed || record.enforced { record.status = ctx.responseStatus }  // authn records are enforced
            log.log(record)
        }
        let route = ctx.route?.id ?? "none"
        let series: GatewayMetrics.RequestSeries
        if let last = lastSeries, last.matches(route: route, method: ctx.method, status: ctx.responseStatus) {
            series = last
        } else {
            series = core.metrics.requestSeries(route: route, method: ctx.method, status: ctx.responseStatus)
            lastSeries = series
        }
        core.metrics.request(series, seconds: ctx.elapsedSeconds)
    }

    /// The upstream's time to its response head, for `route`.
    func recordUpstream(route: String, seconds: Double) {
        if let last = lastUpstreamTimer, last.route == route {
            last.timer.recordSeconds(seconds)
            return
        }
        let timer = core.metrics.upstreamTimer(route: route)
        lastUpstreamTimer = (route, timer)
        timer.recordSeconds(seconds)
    }

    // MARK: WebSocket

    /// Upstream answered 101: send it on, drop both HTTP codecs and splice the two connections.
    func startTunnel(_ ctx: RequestContext, response: UpstreamResponseHead, upstream: UpstreamConnection, route: RuntimeRoute) {
        guard let context else { return }
        ctx.responseStatus = 101
        finishMetrics(ctx)
        state = .tunnel
        var out = context.channel.allocator.buffer(capacity: response.block.readableBytes + 128)
        HeaderRules.clientResponseHead(response, ctx: ctx, websocket: true, framing: .none, keepAlive: true, into: &out,
                                       scratch: &pool(context).headScratch)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        // What the client sent behind its upgrade request belongs to the new protocol: it goes first.
        let clientLeftover = decoder.takeRest(&received)
        WebSocketTunnel.splice(client: context.channel, clientHandler: self, clientLeftover: clientLeftover, upstream: upstream,
                               idleTimeout: route.websocket?.idleTimeout ?? 300,
                               expiresAt: route.websocket?.closeOnTokenExpiry == true ? ctx.identity?.expiresAt : nil, core: core)
        resumeReading()
    }
}
