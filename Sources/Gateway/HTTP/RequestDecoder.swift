#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOHTTP1

/// Reads a client's requests from bytes as they arrive (RFC 9112), strictly: anything a lenient
/// reader could frame differently from the upstream is an error rather than a guess — no obs-fold,
/// no whitespace before a colon, no control bytes, no bare CR or LF, nothing but one space between
/// the parts of the request line. The framing checks on the fields themselves (`Content-Length`
/// with `Transfer-Encoding`, differing lengths) are phase 1's (AcceptChecks), which answers them
/// with 400 and closes; the decoder reads no body it cannot frame and stops after such a head.
///
/// Requests are taken one at a time: `next` hands out the head (with the fields the phases read,
/// found in the same pass), the body's pieces as slices of the received buffers (chunked bodies
/// decoded) and the end. The caller decides when to take the next request's head, so pipelined
/// requests simply stay unread in its buffer.
struct RequestDecoder {
    enum Event {
        case head(HTTPRequestHead, RequestFields)
        case body(ByteBuffer)
        case end
    }

    private enum State {
        case head
        case noBody
        case body
        /// After a head whose body cannot be framed: nothing more is read.
        case stopped
    }

    static let maxFields = 512

    /// Largest head (request line and field lines) read; phase 1 applies the configured limits
    /// exactly, this only bounds what is buffered before a head is complete.
    let headLimit: Int
    /// A field value this connection is likely to send again byte for byte (its last
    /// `Authorization`): a value equal to it is this very string, not a new copy, and comparing
    /// it with the kept one later costs nothing.
    var repeatedValue: String?
    private var state = State.head
    private var framing: MessageFraming

    init(headLimit: Int) {
        self.headLimit = headLimit
        framing = MessageFraming(maxTrailerBytes: headLimit)
    }

    /// The next event is a new request's head (the previous request was read whole).
    var isAtHead: Bool { if case .head = state { return true } else { return false } }

    /// Bytes held of a head or chunk line not yet complete, then whatever `buffer` still holds
    /// (for a WebSocket splice: what the client sent behind its upgrade request).
    mutating func takeRest(_ buffer: inout ByteBuffer) -> ByteBuffer {
        framing.joinPending(&buffer)
        let rest = buffer
        buffer = ByteBuffer()
        return rest
    }

    /// The next event `buffer` holds, or nil when more bytes are needed.
    mutating func next(_ buffer: inout ByteBuffer) throws -> Event? {
        switch state {
        case .head:
            framing.joinPending(&buffer)
            // Empty lines before a request line are ignored (RFC 9112 §2.2).
            while buffer.readableBytes >= 2, buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == 0x0d0a {
                buffer.moveReaderIndex(forwardBy: 2)
            }
            guard buffer.readableBytes > 0,
                  let block = try framing.takeHead(&buffer, limit: headLimit, what: "request head") else { return nil }
            let (head, fields) = try Self.parseHead(block, repeatedValue: repeatedValue)
            switch AcceptChecks.bodyFraming(fields) {
            case nil:
                state = .stopped
            case .none?, .untilClose?:
                state = .noBody
            case let framing?:
                self.framing.startBody(framing)
                state = .body
            }
            return .head(head, fields)
        case .noBody:
            state = .head
            return .end
        case .body:
            switch try framing.bodyStep(&buffer) {
            case .body(let part):
                return .body(part)
            case .end:
                state = .head
                return .end
            case .more:
                return nil
            }
        case .stopped:
            return nil
        }
    }

    /// Request line and field lines, checked byte by byte; `block` ends with the empty line.
    static func parseHead(_ block: ByteBuffer, repeatedValue: String? = nil) throws -> (HTTPRequestHead, RequestFields) {
        try block.withUnsafeReadableBytes { raw -> (HTTPRequestHead, RequestFields) in
            // Every scan below stops at the CR of the final CRLF CRLF at the latest.
            try MessageFraming.checkHeadEnd(raw)
            let n = raw.count - 2
            // Request line: method SP request-target SP HTTP/d.d CRLF
            var i = 0
            while HeaderRules.isTokenByte(raw[i]) { i += 1 }
            let methodEnd = i
            guard methodEnd > 0, raw[i] == 32 else { throw HTTPMessageError("the request line does not start with a method and one space") }
            i += 1
            let targetStart = i
            while raw[i] > 0x20 && raw[i] != 0x7f { i += 1 }
            let targetEnd = i
            guard targetEnd > targetStart, raw[i] == 32 else {
                throw HTTPMessageError(targetEnd == targetStart ? "the request target is empty" : "a space or control byte in the request target")
            }
            i += 1
            guard i + 10 <= raw.count, raw[i] == 72, raw[i + 1] == 84, raw[i + 2] == 84, raw[i + 3] == 80, raw[i + 4] == 47,
                  raw[i + 5] &- 48 < 10, raw[i + 6] == 46, raw[i + 7] &- 48 < 10, raw[i + 8] == 13, raw[i + 9] == 10 else {
                throw HTTPMessageError("the request line does not end with an HTTP version")
            }
            let version = HTTPVersion(major: Int(raw[i + 5] - 48), minor: Int(raw[i + 7] - 48))
            i += 10
            let method = Self.method(UnsafeRawBufferPointer(rebasing: raw[0..<methodEnd]))
            let uri = String(decoding: UnsafeRawBufferPointer(rebasing: raw[targetStart..<targetEnd]), as: UTF8.self)

            var fields = RequestFields(method: methodEnd, uri: targetEnd - targetStart)
            var headers: [(String, String)] = []
            headers.reserveCapacity(8)
            while i < n {
                let (name, valueRange) = try MessageFraming.fieldLine(raw, at: &i, head: "request head")
                guard headers.count < maxFields else { throw HTTPMessageError("more than \(maxFields) fields in the request head") }
                let nameBytes = UnsafeRawBufferPointer(rebasing: raw[name])
                let valueBytes = UnsafeRawBufferPointer(rebasing: raw[valueRange])
                let value: String
                if let repeatedValue, Self.equal(repeatedValue, valueBytes) {
                    value = repeatedValue
                } else {
                    value = String(decoding: valueBytes, as: UTF8.self)
                }
                fields.note(name: nameBytes, value: value)
                headers.append((String(decoding: nameBytes, as: UTF8.self), value))
            }
            return (HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders(headers)), fields)
        }
    }

    /// `string`'s UTF-8 is exactly `bytes`.
    @inline(__always) static func equal(_ string: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard string.utf8.count == bytes.count, bytes.count > 0 else { return false }
        return string.utf8.withContiguousStorageIfAvailable { memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 } ?? false
    }

    /// The common methods without making a string first.
    @inline(__always) static func method(_ bytes: UnsafeRawBufferPointer) -> HTTPMethod {
        switch bytes.count {
        case 3:
            if bytes[0] == 71 && bytes[1] == 69 && bytes[2] == 84 { return .GET }
            if bytes[0] == 80 && bytes[1] == 85 && bytes[2] == 84 { return .PUT }
        case 4:
            if bytes[0] == 80 && bytes[1] == 79 && bytes[2] == 83 && bytes[3] == 84 { return .POST }
            if bytes[0] == 72 && bytes[1] == 69 && bytes[2] == 65 && bytes[3] == 68 { return .HEAD }
        default:
            break
        }
        return HTTPMethod(rawValue: String(decoding: bytes, as: UTF8.self))
    }
}
