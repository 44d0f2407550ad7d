import Foundation
import NIOCore
import NIOHTTP1

/// One connection to a stub: collects each request (a body over 64 KiB gets 413 and the
/// connection is closed unread), answers through the service, and puts `X-Request-ID` (the
/// caller's when well-formed, else minted) and `X-Process-Time` on every response.
final class StubHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let maxBodyBytes = 64 * 1024
    static let name = "stub-http"

    private let service: StubService
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var refused = false
    private var startedAt: UInt64 = 0
    private var requestID = ""

    init(service: StubService) { self.service = service }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let newHead):
            head = newHead
            body = []
            refused = false
            startedAt = DispatchTime.now().uptimeNanoseconds
            requestID = StubRequestID.accept(newHead.headers.first(name: "X-Request-ID")) ?? StubRequestID.mint()
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
            let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            let request = StubRequest(method: head.method, target: head.uri, path: String(parts.first ?? ""),
                                      query: parts.count > 1 ? String(parts[1]) : nil, version: head.version, headers: head.headers,
                                      body: body, remoteAddress: context.channel.remoteAddress?.ipAddress, requestID: requestID)
            body = []
            write(StubRouting.respond(service, request), for: head, context: context)
        }
    }

    private func refuseTooLarge(context: ChannelHandlerContext, head: HTTPRequestHead) {
        refused = true
        let response = StubResponse.error(.payloadTooLarge, "payload_too_large", "the request body exceeds \(Self.maxBodyBytes) bytes",
                                          requestID: requestID)
        write(response, for: head, context: context, close: true)
    }

    private func write(_ response: StubResponse, for request: HTTPRequestHead, context: ChannelHandlerContext, close: Bool = false) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders(response.headers)
        headers.replaceOrAdd(name: "X-Request-ID", value: requestID)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - startedAt) / 1e9
        headers.replaceOrAdd(name: "X-Process-Time", value: String(format: "%.6f", seconds))
        let hasBody = response.status != .noContent && response.status != .notModified
        if hasBody { headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count)) }
        let closing = close || !request.isKeepAlive
        if closing { headers.replaceOrAdd(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: response.status, headers: headers))), promise: nil)
        if request.method != .HEAD, hasBody, !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if closing {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
