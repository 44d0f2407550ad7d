import NIOCore

/// Back-pressure on one channel: while paused, the `read` that auto-read issues is held back and
/// replayed on resume, so the socket is not read while the other side cannot take more.
struct ReadGate {
    private var paused = false
    private var readPending = false

    /// For the handler's `read(context:)`.
    mutating func read(_ context: ChannelHandlerContext) {
        if paused { readPending = true } else { context.read() }
    }

    mutating func pause() { paused = true }

    mutating func resume(_ context: ChannelHandlerContext?) {
        guard paused else { return }
        paused = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }
}
