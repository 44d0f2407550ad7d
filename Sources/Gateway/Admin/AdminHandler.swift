import Foundation
import NIOCore
import NIOHTTP1
import RegoLite

/// The admin listener (DESIGN.md, "Admin listener"): `/healthz`, `/readyz`, `/v1/status`,
/// `/metrics`, `POST /v1/config/reload`. Off the traffic path, on its own port.
final class AdminHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let gateway: Gateway
    private var head: HTTPRequestHead?
    private var bodyBytes = 0

    init(gateway: Gateway) { self.gateway = gateway }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            bodyBytes = 0
        case .body(let b):
            bodyBytes += b.readableBytes
        case .end:
            guard let head else { return }
            self.head = nil
            handle(context: context, head: head)
        }
    }

    private func handle(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
        switch (head.method, path) {
        case (.GET, "/healthz"), (.HEAD, "/healthz"):
            respond(context, head, .ok, json: obj(["status": .string("ok")]))
        case (.GET, "/readyz"), (.HEAD, "/readyz"):
            let readiness = gateway.readiness()
            let checks = Value.object(RegoObject(pairs: readiness.checks.map {
                (.string($0.0), obj(["ok": .bool($0.1), "detail": .string($0.2)]))
            }))
            respond(context, head, readiness.ready ? .ok : .serviceUnavailable, json: obj(["ready": .bool(readiness.ready), "checks": checks]))
        case (.GET, "/v1/status"):
            respond(context, head, .ok, json: AdminStatus.status(gateway))
        case (.GET, "/metrics"):
            var buffer = context.channel.allocator.buffer(capacity: 8192)
            buffer.writeBytes(gateway.core.metrics.render(authenticator: gateway.core.authenticator))
            respond(context, head, .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: buffer)
        case (.POST, "/v1/config/reload"):
            let loop = context.eventLoop
            let gateway = self.gateway
            loop.makeFutureWithTask { await gateway.reload() }.assumeIsolated().whenSuccess { [self] outcome in
                var members: [String: Value] = ["config_revision": .number(.int(Int64(outcome.configRevision)))]
                members["policy_revision"] = outcome.policyRevision.map(Value.string) ?? .null
                if let error = outcome.error {
                    members["reloaded"] = .false
                    members["error"] = obj(["code": .string("bad_request"), "message": .string(error)])
                    respond(context, head, .badRequest, json: obj(members))
                } else {
                    members["reloaded"] = .true
                    respond(context, head, .ok, json: obj(members))
                }
            }
        case (_, "/healthz"), (_, "/readyz"), (_, "/v1/status"), (_, "/metrics"), (_, "/v1/config/reload"):
            respond(context, head, .methodNotAllowed, json: obj(["error": obj([
                "code": .string("method_not_allowed"), "message": .string("\(head.method.rawValue) is not allowed on \(path)"),
            ])]))
        default:
            respond(context, head, .notFound, json: obj(["error": obj([
                "code": .string("not_found"), "message": .string("no admin endpoint \(path)"),
            ])]))
        }
    }

    private func obj(_ members: [String: Value]) -> Value {
        .object(RegoObject(pairs: members.map { (.string($0.key), $0.value) }))
    }

    private func respond(_ context: ChannelHandlerContext, _ request: HTTPRequestHead, _ status: HTTPResponseStatus, json: Value) {
        var buffer = context.channel.allocator.buffer(capacity: 256)
        buffer.writeString(JSONWriter.write(json, pretty: true))
        buffer.writeString("\n")
        respond(context, request, status, contentType: "application/json", body: buffer)
    }

    private func respond(_ context: ChannelHandlerContext, _ request: HTTPRequestHead, _ status: HTTPResponseStatus,
                         contentType: String, body: ByteBuffer) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        headers.add(name: "Cache-Control", value: "no-store")
        if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        if request.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !request.isKeepAlive { done.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }
}
