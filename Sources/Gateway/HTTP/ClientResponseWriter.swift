import NIOCore

/// How a proxied response reaches the client: its head (copied field lines, HeaderRules), held
/// until the first body bytes or the next flush so that a small body leaves in the same buffer,
/// then the body as the client's framing needs it (as it came, or in chunks again). One per
/// connection, one response at a time. A class, not a struct: a write can re-enter it (the
/// client's writability changes inside `context.write`, and the exchange flushes), which a
/// mutating method of a stored struct would turn into overlapping access.
final class ClientResponseWriter {
    /// Bodies up to this size are copied behind the held head.
    static let coalescedBodyBytes = 16 * 1024

    private(set) var framing = HeaderRules.ClientFraming.none
    private var heldHead: ByteBuffer?

    /// The head of the upstream's final response, held (a body framed by the close ends the
    /// connection: `ctx.keepAlive` turns false).
    func head(_ upstream: UpstreamResponseHead, ctx: RequestContext, context: ChannelHandlerContext, scratch: inout [UInt8]) {
        framing = HeaderRules.clientFraming(upstream, clientVersion: ctx.head.version)
        if framing == .close { ctx.keepAlive = false }
        var room = 0
        if case .length(let n) = framing, n <= Self.coalescedBodyBytes { room = Int(n) }
        var out = context.channel.allocator.buffer(capacity: upstream.block.readableBytes + 160 + room)
        HeaderRules.clientResponseHead(upstream, ctx: ctx, websocket: false, framing: framing, keepAlive: ctx.keepAlive,
                                       into: &out, scratch: &scratch)
        writeHeld(context)
        heldHead = out
    }

    func body(_ body: ByteBuffer, context: ChannelHandlerContext) {
        guard body.readableBytes > 0 else { return }
        switch framing {
        case .length, .close:
            if heldHead != nil && heldHead!.writableBytes >= body.readableBytes {
                heldHead!.writeImmutableBuffer(body)
                return
            }
            writeHeld(context)
            context.write(NIOAny(body), promise: nil)
        case .chunked:
            writeHeld(context)
            WireFormat.writeChunk(body, allocator: context.channel.allocator) { context.write(NIOAny($0), promise: nil) }
        case .none:
            break  // HEAD, 204, 304: nothing may follow the head
        }
    }

    func flush(_ context: ChannelHandlerContext) {
        writeHeld(context)
        context.flush()
    }

    /// What is left of the response, once: the held head (with the body it holds) and the last
    /// chunk, as one buffer (nil when nothing is).
    func end() -> ByteBuffer? {
        var rest = heldHead
        heldHead = nil
        if framing == .chunked {
            if rest == nil { rest = WireFormat.lastChunk } else { rest!.writeImmutableBuffer(WireFormat.lastChunk) }
        }
        framing = .none
        return rest
    }

    /// The response failed: nothing held is sent.
    func drop() {
        heldHead = nil
        framing = .none
    }

    /// Sends the held head, if any (before anything else is written to the client).
    private func writeHeld(_ context: ChannelHandlerContext) {
        guard let head = heldHead else { return }
        heldHead = nil
        context.write(NIOAny(head), promise: nil)
    }
}
