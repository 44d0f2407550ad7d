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

/// A head being made by the gateway: pieces appended to one array (plain copies), then written to
/// the channel's buffer at once. Writing each piece to a `ByteBuffer` costs a capacity, a
/// uniqueness and an exclusivity check apiece, which for a dozen pieces was a fifth of the time
/// spent making the head.
struct HeadBuilder {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    /// Made in `scratch`'s storage (an event loop keeps one array for the heads made on it, so a
    /// head costs no allocation of its own); `giveBack` returns the storage when the head is written.
    init(reusing scratch: inout [UInt8], capacity: Int) {
        swap(&bytes, &scratch)
        bytes.removeAll(keepingCapacity: true)
        bytes.reserveCapacity(capacity)
    }

    mutating func giveBack(to scratch: inout [UInt8]) { swap(&bytes, &scratch) }

    @inline(__always) mutating func append(_ text: String) { bytes.append(contentsOf: text.utf8) }

    @inline(__always) mutating func append(_ text: Substring) { bytes.append(contentsOf: text.utf8) }

    @inline(__always) mutating func literal(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    @inline(__always) mutating func byte(_ value: UInt8) { bytes.append(value) }

    @inline(__always) mutating func append(bytes raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

    /// `name: value` CRLF.
    @inline(__always) mutating func field(_ name: String, _ value: String) {
        append(name)
        literal(": ")
        append(value)
        literal("\r\n")
    }

    /// A decimal number.
    mutating func decimal<T: BinaryInteger>(_ value: T) {
        guard value >= 0 else {
            append(String(value))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 24 digits
        var n = UInt64(value)
        withUnsafeMutableBytes(of: &digits) { room in
            var start = room.count
            repeat {
                start -= 1
                room[start] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
            } while n > 0
            bytes.append(contentsOf: room[start...])
        }
    }
}
