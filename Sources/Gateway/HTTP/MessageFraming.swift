#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// Why an HTTP/1 message could not be read safely: a client's request (answered 400, then the
/// connection closes) or an upstream's response (502 when nothing of it reached the client yet,
/// otherwise the client connection is closed).
struct HTTPMessageError: Error, CustomStringConvertible {
    let description: String
    /// The head was over its size limit (rather than malformed).
    let tooLarge: Bool
    init(_ description: String, tooLarge: Bool = false) {
        self.description = description
        self.tooLarge = tooLarge
    }
}

/// How a message's body is delimited (RFC 9112 §6.3).
enum BodyFraming: Equatable {
    /// No body: a request without `Content-Length` or `Transfer-Encoding`; a 1xx, 204, 304 or the
    /// answer to HEAD.
    case none
    case length(Int64)
    case chunked
    /// Everything until the upstream closes the connection (responses only).
    case untilClose
}

/// What the two readers of HTTP/1 messages share (RequestDecoder for clients, ResponseParser for
/// upstreams): bytes of a head or line that have not all arrived, and the body's framing, read
/// strictly — no bare LF, no chunk data longer than its size, no chunk size that is not hex,
/// no control bytes in chunk extensions or trailers. Bodies come out as slices of the received
/// buffers; chunked bodies come out decoded (the gateway frames them again for the other side).
struct MessageFraming {
    enum BodyStep {
        case body(ByteBuffer)
        case end
        /// The rest of the body has not arrived yet.
        case more
    }

    private enum Body {
        case length(Int64)
        case chunkSize
        case chunkData(Int64)
        case chunkDataEnd
        case trailers
        case untilClose
    }

    static let maxChunkLineBytes = 4096

    /// Bytes of a head, chunk-size line or trailer section not complete yet.
    private(set) var pending: ByteBuffer?
    private var body = Body.length(0)
    private var trailerBytes = 0
    /// Largest trailer section accepted.
    let maxTrailerBytes: Int

    init(maxTrailerBytes: Int) { self.maxTrailerBytes = maxTrailerBytes }

    /// Starts reading a body framed as `framing` (not `.none`).
    mutating func startBody(_ framing: BodyFraming) {
        switch framing {
        case .length(let n): body = .length(n)
        case .chunked: body = .chunkSize
        case .untilClose: body = .untilClose
        case .none: body = .length(0)
        }
    }

    /// Reading a body delimited by the close of the connection.
    var isUntilClose: Bool { if case .untilClose = body { return true } else { return false } }

    /// The next piece of the body in `buffer`.
    mutating func bodyStep(_ buffer: inout ByteBuffer) throws -> BodyStep {
        while true {
            switch body {
            case .length(let remaining):
                if remaining == 0 { return .end }
                guard buffer.readableBytes > 0 else { return .more }
                let n = Int(min(Int64(buffer.readableBytes), remaining))
                body = .length(remaining - Int64(n))
                return .body(buffer.readSlice(length: n)!)
            case .chunkSize:
                guard let line = try takeLine(&buffer, limit: Self.maxChunkLineBytes, what: "chunk size line") else { return .more }
                let size = try Self.chunkSize(line)
                body = size == 0 ? .trailers : .chunkData(size)
                trailerBytes = 0
            case .chunkData(let remaining):
                guard buffer.readableBytes > 0 else { return .more }
                let n = Int(min(Int64(buffer.readableBytes), remaining))
                body = Int64(n) == remaining ? .chunkDataEnd : .chunkData(remaining - Int64(n))
                return .body(buffer.readSlice(length: n)!)
            case .chunkDataEnd:
                guard let line = try takeLine(&buffer, limit: 2, what: "chunk") else { return .more }
                guard line.readableBytes == 0 else { throw HTTPMessageError("chunk data longer than its size") }
                body = .chunkSize
            case .trailers:
                // Trailer fields are read and dropped (the gateway forwards none).
                guard let line = try takeLine(&buffer, limit: maxTrailerBytes, what: "trailer section") else { return .more }
                trailerBytes += line.readableBytes + 2
                if trailerBytes > maxTrailerBytes { throw HTTPMessageError("the trailer section is larger than \(maxTrailerBytes) bytes") }
                if line.readableBytes == 0 {
                    body = .length(0)
                    return .end
                }
                try Self.checkFieldLine(line)
            case .untilClose:
                guard buffer.readableBytes > 0 else { return .more }
                return .body(buffer.readSlice(length: buffer.readableBytes)!)
            }
        }
    }

    /// Puts back what was held as pending before `buffer` (for a reader that stops mid-message).
    mutating func joinPending(_ buffer: inout ByteBuffer) {
        guard var held = pending else { return }
        pending = nil
        held.writeBuffer(&buffer)
        buffer = held
    }

    /// Keeps what `buffer` holds until more arrives.
    private mutating func hold(_ buffer: inout ByteBuffer) {
        if buffer.readableBytes > 0 { pending = buffer.readSlice(length: buffer.readableBytes) }
    }

    /// Up to and without the next CRLF, or nil when it has not arrived (kept in `pending`).
    mutating func takeLine(_ buffer: inout ByteBuffer, limit: Int, what: String) throws -> ByteBuffer? {
        joinPending(&buffer)
        let view = buffer.readableBytesView
        guard let lf = view.firstIndex(of: 10) else {
            if buffer.readableBytes > limit + 1 { throw HTTPMessageError("the \(what) is longer than \(limit) bytes") }
            hold(&buffer)
            return nil
        }
        let length = lf - view.startIndex
        guard length >= 1, view[lf - 1] == 13 else { throw HTTPMessageError("a bare LF in the \(what)") }
        if length - 1 > limit { throw HTTPMessageError("the \(what) is longer than \(limit) bytes") }
        let line = buffer.readSlice(length: length - 1)!
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }

    /// A whole head (start line to the empty line, both CRLFs included), or nil when it has not
    /// all arrived (kept in `pending`). A head longer than `limit` is an error (`tooLarge`).
    mutating func takeHead(_ buffer: inout ByteBuffer, limit: Int, what: String) throws -> ByteBuffer? {
        joinPending(&buffer)
        let end: Int? = try buffer.withUnsafeReadableBytes { raw in
            // Find CRLF CRLF, from LF to LF (memchr: a head is mostly long lines); stop at the limit.
            // A bare LF is refused at once rather than waited past.
            guard let base = raw.baseAddress else { return nil }
            let n = min(raw.count, limit + 4)
            var i = 0
            while i < n, let found = memchr(base + i, 10, n - i) {
                let lf = base.distance(to: UnsafeRawPointer(found))
                guard lf >= 1 && raw[lf - 1] == 13 else { throw HTTPMessageError("a bare LF in the \(what)") }
                if lf >= 3 && raw[lf - 2] == 10 && raw[lf - 3] == 13 { return lf + 1 }
                i = lf + 1
            }
            return nil
        }
        guard let end else {
            if buffer.readableBytes > limit { throw HTTPMessageError("the \(what) is larger than \(limit) bytes", tooLarge: true) }
            hold(&buffer)
            return nil
        }
        return buffer.readSlice(length: end)!
    }

    /// `1a;name=value` → 26. Extensions are checked for control bytes and dropped.
    static func chunkSize(_ line: ByteBuffer) throws -> Int64 {
        let view = line.readableBytesView
        var size: Int64 = 0, digits = 0
        var index = view.startIndex
        while index < view.endIndex, let digit = PathNormalizer.hexValue(view[index]) {
            size = size << 4 | Int64(digit)
            digits += 1
            guard digits <= 15 else { throw HTTPMessageError("the chunk size is too large") }
            index += 1
        }
        guard digits > 0 else { throw HTTPMessageError("the chunk size is not hexadecimal") }
        while index < view.endIndex, view[index] == 32 || view[index] == 9 { index += 1 }
        if index < view.endIndex {
            guard view[index] == 59 else { throw HTTPMessageError("the chunk size is not hexadecimal") }
            for b in view[index...] where (b < 0x20 && b != 0x09) || b == 0x7f {
                throw HTTPMessageError("a control byte in a chunk extension")
            }
        }
        return size
    }

    static func checkFieldLine(_ line: ByteBuffer) throws {
        let view = line.readableBytesView
        guard let colon = view.firstIndex(of: 58), colon > view.startIndex,
              view[view.startIndex..<colon].allSatisfy(HeaderRules.isTokenByte) else {
            throw HTTPMessageError("a malformed trailer field")
        }
        for b in view[colon...] where (b < 0x20 && b != 0x09) || b == 0x7f { throw HTTPMessageError("a control byte in a trailer field") }
    }

    /// `raw` is a whole head: it ends with the empty line (CRLF CRLF), which every scan of
    /// `fieldLine` and the start lines relies on to stop.
    static func checkHeadEnd(_ raw: UnsafeRawBufferPointer) throws {
        let n = raw.count
        guard n >= 4, raw[n - 4] == 13, raw[n - 3] == 10, raw[n - 2] == 13, raw[n - 1] == 10 else {
            throw HTTPMessageError("a head that does not end with an empty line")
        }
    }

    /// The field line of a head that starts at `i` (RFC 9112 §5), strictly: no obs-fold, a token
    /// name, no whitespace before the colon, no control byte in the value, CRLF at the end. `i`
    /// moves past the line's CRLF. The value is without its surrounding whitespace. `head` names
    /// the head in errors ("request head", "response head"). `raw` ends with CRLF CRLF
    /// (`checkHeadEnd`).
    @inline(__always)
    static func fieldLine(_ raw: UnsafeRawBufferPointer, at i: inout Int, head: String) throws -> (name: Range<Int>, value: Range<Int>) {
        let n = raw.count - 2  // the final CRLF
        let lineStart = i
        if raw[i] == 32 || raw[i] == 9 { throw HTTPMessageError("obsolete line folding in the \(head)") }
        while HeaderRules.isTokenByte(raw[i]) { i += 1 }
        let nameEnd = i
        guard nameEnd > lineStart else { throw HTTPMessageError("a field without a name in the \(head)") }
        guard raw[i] == 58 else {
            throw HTTPMessageError(raw[i] == 32 || raw[i] == 9 ? "whitespace before a colon in the \(head)"
                                                               : "a field name with an invalid byte in the \(head)")
        }
        i += 1
        while raw[i] == 32 || raw[i] == 9 { i += 1 }
        let valueStart = i
        var valueEnd = i
        // Eight bytes at a time while none is a control byte, space, tab, CR or DEL (a bearer
        // token is hundreds of such bytes); a word with one is checked byte by byte.
        while true {
            while i + 8 <= n, !hasByteBelow0x21OrDEL(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) {
                i += 8
                valueEnd = i
            }
            let wordEnd = i + 8
            while raw[i] != 13 && i < wordEnd {
                let b = raw[i]
                guard isValueByte(b) else { throw HTTPMessageError("a control byte in a field value of the \(head)") }
                i += 1
                if b != 32 && b != 9 { valueEnd = i }
            }
            if raw[i] == 13 { break }
        }
        guard raw[i + 1] == 10 else { throw HTTPMessageError("a bare CR in the \(head)") }
        i += 2
        return (lineStart..<nameEnd, valueStart..<valueEnd)
    }

    /// Some byte of `word` is below 0x21 (control bytes, space, tab, CR, LF) or is 0x7F: the
    /// "has less than" word trick, exact for existence (bytes of 0x80 and above are obs-text).
    @inline(__always) static func hasByteBelow0x21OrDEL(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let below = (word &- ones &* 0x21) & ~word & highs
        let del = word ^ (ones &* 0x7f)
        return below | ((del &- ones) & ~del & highs) != 0
    }

    /// A field value byte: visible ASCII, obs-text, space or tab (RFC 9110 §5.5) — no control byte.
    @inline(__always) static func isValueByte(_ b: UInt8) -> Bool { b >= 0x20 ? b != 0x7f : b == 0x09 }
}
