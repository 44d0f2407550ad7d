import NIOCore
import NIOHTTP1

/// Collects one request (body capped: a larger one gets 413 and the connection is closed
/// without reading the rest), asks the routes for the reply, writes it (later, when the reply
/// carries a delay).
final class IdPRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let maxBodyBytes = 64 * 1024

    private let routes: @Sendable () -> IdPRoutes?
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var refused = false

    init(routes: @escaping @Sendable () -> IdPRoutes?) { self.routes = routes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let newHead):
            head = newHead
            body = []
            refused = false
            if let length = newHead.headers.first(name: "Content-Length").flatMap(Int.init), length > Self.maxBodyBytes {
                refuseTooLarge(context: context, head: newHead)
            }
        case .body(var buffer):
            guard !refused, let head else { return }
            if body.count + buffer.readableBytes > Self.maxBodyBytes {
                refuseTooLarge(context: context, head: head)
                return
            }
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard !refused, let head else { return }
            self.head = nil
            let reply: IdPReply
            if let routes = routes() {
                let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
                let query = parts.count > 1 ? FormBody.parse(Array(parts[1].utf8)) ?? [] : []
                let request = IdPRequest(method: head.method, path: String(parts.first ?? ""), query: query, headers: head.headers,
                                         body: body, remoteAddress: context.channel.remoteAddress?.ipAddress)
                reply = routes.respond(request)
            } else {
                reply = .error(.serviceUnavailable, "temporarily_unavailable", "the dev issuer is starting")
            }
            body = []
            if reply.delayMilliseconds > 0 {
                context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(reply.delayMilliseconds))) {
                    self.write(reply, for: head, context: context)
                }
            } else {
                write(reply, for: head, context: context)
            }
        }
    }

    private func refuseTooLarge(context: ChannelHandlerContext, head: HTTPRequestHead) {
        refused = true
        var reply = IdPReply.error(.payloadTooLarge, "invalid_request", "the request body exceeds \(Self.maxBodyBytes) bytes")
        reply.headers.append(("Connection", "close"))
        write(reply, for: head, context: context, close: true)
    }

    private func write(_ reply: IdPReply, for request: HTTPRequestHead, context: ChannelHandlerContext, close: Bool = false) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders(reply.headers)
        headers.replaceOrAdd(name: "Content-Length", value: String(reply.body.count))
        let closing = close || !request.isKeepAlive
        if closing, !headers.contains(name: "Connection") { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: reply.status, headers: headers))), promise: nil)
        if request.method != .HEAD, !reply.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: reply.body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if closing {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
