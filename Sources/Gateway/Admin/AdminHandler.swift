import DecisionLog
import Foundation
import JOSE
import NIOCore
import NIOHTTP1
import RegoLite

/// The admin listener (DESIGN.md, "Admin listener"): `/healthz`, `/readyz`, `/v1/status`,
/// `/metrics`, `POST /v1/config/reload`, `GET /v1/decisions`, `GET /v1/decisions/{id}`,
/// `POST /v1/policy/sync` (the Git webhook). Off the traffic path, on its own port.
final class AdminHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let gateway: Gateway
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyTooLarge = false
    /// Webhook payloads (push events) are small; anything larger is refused.
    static let maxBodyBytes = 1 << 20

    init(gateway: Gateway) { self.gateway = gateway }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
            bodyTooLarge = false
        case .body(let b):
            if body.count + b.readableBytes > Self.maxBodyBytes { bodyTooLarge = true } else { body += b.readableBytesView }
        case .end:
            guard let head else { return }
            self.head = nil
            if bodyTooLarge {
                respond(context, head, .payloadTooLarge, json: error("payload_too_large", "the request body is larger than \(Self.maxBodyBytes) bytes"))
                return
            }
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
        case (.GET, "/v1/decisions"):
            guard let log = gateway.core.decisionLog else {
                respond(context, head, .notFound, json: error("not_found", "decision records are not kept (no decision_log in the configuration)"))
                return
            }
            var clock = timespec()
            clock_gettime(CLOCK_REALTIME, &clock)
            let now = Int64(clock.tv_sec) * 1_000_000_000 + Int64(clock.tv_nsec)
            switch DecisionFilter.parse(query: Self.queryItems(head.uri), nowNs: now) {
            case .failure(let problem):
                respond(context, head, .badRequest, json: error("bad_request", "\(problem)"))
            case .success(let filter):
                var buffer = context.channel.allocator.buffer(capacity: 4096)
                buffer.writeBytes(DecisionRing.jsonArray(log.ring.query(filter)))
                buffer.writeString("\n")
                respond(context, head, .ok, contentType: "application/json", body: buffer)
            }
        case (.GET, _) where path.hasPrefix("/v1/decisions/"):
            let id = String(path.dropFirst("/v1/decisions/".count))
            guard let log = gateway.core.decisionLog, let entry = log.ring.lookup(decisionID: id) else {
                respond(context, head, .notFound, json: error("not_found", "no decision \(id) in the recent records"))
                return
            }
            var buffer = context.channel.allocator.buffer(capacity: entry.json.count + 1)
            buffer.writeBytes(entry.json)
            buffer.writeString("\n")
            respond(context, head, .ok, contentType: "application/json", body: buffer)
        case (.POST, "/v1/policy/sync"):
            guard let syncer = gateway.syncer, let secret = gateway.core.config.configuration.policy.git?.webhookSecret else {
                respond(context, head, .notFound, json: error("not_found", "the policy webhook is off (no policy.git webhook secret)"))
                return
            }
            guard WebhookSignature.verify(header: head.headers.first(name: "X-Hub-Signature-256"), body: body, secret: Array(secret.utf8)) else {
                gateway.core.logger.warning("policy webhook: bad or missing X-Hub-Signature-256")
                // RFC 9110 §11.6.1: a 401 names how to authenticate (here: GitHub's body signature).
                respond(context, head, .unauthorized, json: error("unauthorized", "X-Hub-Signature-256 is missing or does not match the body"),
                        headers: [("WWW-Authenticate", "X-Hub-Signature-256 realm=\"portcullis policy webhook\", algorithm=\"sha256\"")])
                return
            }
            context.eventLoop.makeFutureWithTask { await syncer.triggerSync() }.assumeIsolated().whenSuccess { [self] outcome in
                respond(context, head, .ok, json: outcome.json)
            }
        case (_, "/healthz"), (_, "/readyz"), (_, "/v1/status"), (_, "/metrics"), (_, "/v1/config/reload"), (_, "/v1/decisions"),
             (_, "/v1/policy/sync"):
            respond(context, head, .methodNotAllowed, json: obj(["error": obj([
                "code": .string("method_not_allowed"), "message": .string("\(head.method.rawValue) is not allowed on \(path)"),
            ])]))
        default:
            respond(context, head, .notFound, json: obj(["error": obj([
                "code": .string("not_found"), "message": .string("no admin endpoint \(path)"),
            ])]))
        }
    }

    private func error(_ code: String, _ message: String) -> Value {
        obj(["error": obj(["code": .string(code), "message": .string(message)])])
    }

    /// `a=1&b=x%20y` → [("a", "1"), ("b", "x y")], decoded as HTML forms are.
    static func queryItems(_ uri: String) -> [(String, String)] {
        guard let q = uri.firstIndex(of: "?") else { return [] }
        return uri[uri.index(after: q)...].split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (PolicyInput.formDecode(parts[0]), parts.count > 1 ? PolicyInput.formDecode(parts[1]) : "")
        }
    }

    private func obj(_ members: [String: Value]) -> Value {
        .object(RegoObject(pairs: members.map { (.string($0.key), $0.value) }))
    }

    private func respond(_ context: ChannelHandlerContext, _ request: HTTPRequestHead, _ status: HTTPResponseStatus, json: Value,
                         headers: [(String, String)] = []) {
        var buffer = context.channel.allocator.buffer(capacity: 256)
        buffer.writeString(JSONWriter.write(json, pretty: true))
        buffer.writeString("\n")
        respond(context, request, status, contentType: "application/json", body: buffer, headers: headers)
    }

    private func respond(_ context: ChannelHandlerContext, _ request: HTTPRequestHead, _ status: HTTPResponseStatus,
                         contentType: String, body: ByteBuffer, headers extra: [(String, String)] = []) {
        var headers = HTTPHeaders(extra)
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
