import NIOCore
import NIOHTTP1

/// HTTP/1.1 pieces the gateway writes itself, on both sides (no NIO encoder on the request path).
enum WireFormat {
    /// `name: value` lines and the empty line that ends a head.
    static func writeFields(_ headers: HTTPHeaders, into out: inout ByteBuffer) {
        for (name, value) in headers {
            out.writeString(name)
            out.writeStaticString(": ")
            out.writeString(value)
            out.writeStaticString("\r\n")
        }
        out.writeStaticString("\r\n")
    }

    /// One chunk of a chunked body: size line, the bytes, CRLF (three writes, one flush).
    static func writeChunk(_ body: ByteBuffer, allocator: ByteBufferAllocator, _ write: (ByteBuffer) -> Void) {
        var size = allocator.buffer(capacity: 18)
        size.writeString(String(body.readableBytes, radix: 16))
        size.writeStaticString("\r\n")
        write(size)
        write(body)
        write(ByteBuffer(staticString: "\r\n"))
    }

    /// The last chunk, without trailers.
    static let lastChunk = ByteBuffer(staticString: "0\r\n\r\n")
}
