import Foundation
import NIOCore
import NIOHTTP1

/// After the upstream's 101: both connections lose their HTTP handlers and are glued byte for
/// byte (frames, pings and pongs pass untouched), with back-pressure each way, an idle timeout,
/// and optionally a close when the token that opened the tunnel expires.
enum WebSocketTunnel {
    static func splice(client: Channel, clientHandler: FrontHandler, clientLeftover: ByteBuffer, upstream: UpstreamConnection, idleTimeout: Double,
                       expiresAt: Double?, core: GatewayCore) {
        let clientGlue = GlueHandler()
        let upstreamGlue = GlueHandler()
        GlueHandler.pair(clientGlue, upstreamGlue)
        core.metrics.tunnelOpened()
        _ = core.activeTunnels.wrappingIncrementThenLoad(ordering: .relaxed)
        client.closeFuture.whenComplete { _ in
            core.metrics.tunnelClosed()
            _ = core.activeTunnels.wrappingDecrementThenLoad(ordering: .relaxed)
        }
        do {
            let up = upstream.channel.pipeline.syncOperations
            // Frames the upstream sent right behind its 101 go first.
            let leftover = upstream.handler.takeUpgradeLeftover()
            up.removeHandler(upstream.handler, promise: nil)
            try up.addHandler(upstreamGlue)

            let down = client.pipeline.syncOperations
            try down.addHandler(IdleStateHandler(allTimeout: .nanoseconds(Int64(idleTimeout * 1e9))))
            try down.addHandler(clientGlue)
            down.removeHandler(clientHandler, promise: nil)
            if let leftover, leftover.readableBytes > 0 { client.writeAndFlush(leftover, promise: nil) }
            if clientLeftover.readableBytes > 0 { upstream.channel.writeAndFlush(clientLeftover, promise: nil) }
        } catch {
            core.logger.error("could not splice the WebSocket connections", metadata: ["error": "\(error)"])
            client.close(promise: nil)
            upstream.channel.close(promise: nil)
            return
        }
        // The front handler held back reads while the upgrade was decided: start both directions.
        client.read()
        upstream.channel.read()
        if let expiresAt {
            let delay = max(0, expiresAt - Date().timeIntervalSince1970)
            let closing = client.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(delay * 1e9))) {
                clientGlue.closeForTokenExpiry()
            }
            client.closeFuture.whenComplete { _ in closing.cancel() }
        }
    }
}

/// One side of a splice: what it reads is written to its partner; it stops reading while the
/// partner cannot take more. Both ends live on the same event loop.
final class GlueHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    static func pair(_ a: GlueHandler, _ b: GlueHandler) {
        a.partner = b
        b.partner = a
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.context?.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.context?.close(promise: nil)
        partner = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            partner?.context?.close(promise: nil)
            context.close(promise: nil)
            return
        }
        if let event = event as? ChannelEvent, event == .inputClosed {
            partner?.context?.close(mode: .output, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        partner?.context?.close(promise: nil)
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.becameWritable() }
        context.fireChannelWritabilityChanged()
    }

    private func becameWritable() {
        if pendingRead, let context {
            pendingRead = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if let partnerContext = partner?.context, !partnerContext.channel.isWritable {
            pendingRead = true
        } else {
            context.read()
        }
    }

    /// Token expired: a WebSocket close frame 1008 (policy violation) to the client side, then
    /// both connections close. Only sent on the client's glue.
    func closeForTokenExpiry() {
        guard let context else { return }
        var frame = context.channel.allocator.buffer(capacity: 16)
        let reason = Array("token expired".utf8)
        frame.writeInteger(UInt8(0x88))
        frame.writeInteger(UInt8(2 + reason.count))
        frame.writeInteger(UInt16(1008))
        frame.writeBytes(reason)
        let partnerContext = partner?.context
        context.writeAndFlush(NIOAny(frame)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
            partnerContext?.close(promise: nil)
        }
    }
}
