import NIOCore

/// An upstream response head exactly as received, with the positions of its fields, so that the
/// head sent to the client is made by copying the field lines that may cross the gateway (no
/// string per header, no header dictionary).
struct UpstreamResponseHead {
    struct Field {
        /// Offsets into `block`: the name, the value without surrounding whitespace, the line with its CRLF.
        let name: Range<Int>
        let value: Range<Int>
        let line: Range<Int>
    }

    let status: Int
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    let minorVersion: Int
    /// The whole head: status line and field lines (its first byte is at offset 0).
    let block: ByteBuffer
    /// The reason phrase (may be empty).
    let reason: Range<Int>
    let fields: [Field]
    let framing: BodyFraming
    /// The upstream keeps the connection open after this response.
    let keepAlive: Bool
    /// Lower-cased names listed in `Connection` besides `close` and `keep-alive` (hop-by-hop too).
    let connectionTokens: [String]

    /// The field's name equals `lowercased` ignoring ASCII case.
    func nameIs(_ field: Field, _ lowercased: StaticString) -> Bool {
        guard field.name.count == lowercased.utf8CodeUnitCount else { return false }
        return block.withUnsafeReadableBytes { ResponseParser.equalsLower($0, field.name, lowercased) }
    }

    func name(_ field: Field) -> String { String(decoding: bytes(field.name), as: UTF8.self) }
    func value(_ field: Field) -> String { String(decoding: bytes(field.value), as: UTF8.self) }

    func bytes(_ range: Range<Int>) -> ByteBufferView {
        block.getSlice(at: block.readerIndex + range.lowerBound, length: range.count)!.readableBytesView
    }

    /// The values of every field named `lowercased`.
    func values(_ lowercased: StaticString) -> [String] { fields.filter { nameIs($0, lowercased) }.map(value) }
}

/// Reads upstream responses from bytes as they arrive (RFC 9112), strictly: anything a lenient
/// reader could frame differently from the upstream is an error rather than a guess — no obs-fold,
/// no space before a colon, no control bytes, no bare LF, `Content-Length` together with
/// `Transfer-Encoding`, differing lengths, malformed chunk sizes. Bodies are handed on as slices
/// of the received buffers; chunked bodies are handed on decoded (the gateway frames them again).
struct ResponseParser {
    enum Event {
        case head(UpstreamResponseHead)
        case body(ByteBuffer)
        case end
    }

    private enum State {
        case head
        case body
        /// A 101 was read: the bytes that follow belong to the new protocol.
        case upgraded
    }

    static let maxHeadBytes = 64 * 1024
    static let maxFields = 256

    private var state = State.head
    private var framing = MessageFraming(maxTrailerBytes: maxHeadBytes)

    var isUpgraded: Bool { if case .upgraded = state { return true } else { return false } }
    /// Between messages (nothing of a response read yet).
    var isIdle: Bool { if case .head = state { return framing.pending == nil } else { return false } }

    /// Parses what `buffer` holds, reporting each event to `sink`. After a 101 head it stops and
    /// leaves the rest of `buffer` unread (`isUpgraded`). `requestIsHEAD` is asked at each head
    /// (a sink may start the next request on this connection): the answer to HEAD has no body
    /// whatever its head says.
    mutating func feed(_ buffer: inout ByteBuffer, requestIsHEAD: () -> Bool, _ sink: (Event) throws -> Void) throws {
        while true {
            switch state {
            case .head:
                guard buffer.readableBytes > 0 || framing.pending != nil,
                      let block = try framing.takeHead(&buffer, limit: Self.maxHeadBytes, what: "response head") else { return }
                let head = try Self.parseHead(block, requestIsHEAD: requestIsHEAD())
                try sink(.head(head))
                if head.status == 101 {
                    state = .upgraded
                    return
                }
                switch head.framing {
                case .none:
                    if head.status >= 200 { try sink(.end) }  // a 1xx is followed by the final head
                case .length(0):
                    try sink(.end)
                case .length, .chunked, .untilClose:
                    framing.startBody(head.framing)
                    state = .body
                }
            case .body:
                switch try framing.bodyStep(&buffer) {
                case .body(let part):
                    try sink(.body(part))
                case .end:
                    state = .head
                    try sink(.end)
                case .more:
                    return
                }
            case .upgraded:
                return
            }
        }
    }

    /// The upstream closed the connection: the end of a body delimited by the close, or an error
    /// when a response was cut short.
    mutating func closed(_ sink: (Event) throws -> Void) throws {
        switch state {
        case .body where framing.isUntilClose:
            state = .head
            try sink(.end)
        case .head where framing.pending == nil:
            break
        case .upgraded:
            break
        default:
            throw HTTPMessageError("the upstream closed the connection in the middle of a response")
        }
    }

    // MARK: heads

    static func parseHead(_ block: ByteBuffer, requestIsHEAD: Bool) throws -> UpstreamResponseHead {
        try block.withUnsafeReadableBytes { raw -> UpstreamResponseHead in
            try MessageFraming.checkHeadEnd(raw)
            let n = raw.count - 2  // the final CRLF
            // Status line: HTTP/1.x SP 3DIGIT [SP reason] CRLF
            guard n >= 14, raw[0] == 72, raw[1] == 84, raw[2] == 84, raw[3] == 80, raw[4] == 47, raw[5] == 49, raw[6] == 46,
                  raw[7] == 48 || raw[7] == 49, raw[8] == 32 else {
                throw HTTPMessageError("the status line is not HTTP/1.0 or HTTP/1.1")
            }
            let minor = Int(raw[7] - 48)
            var status = 0
            for i in 9..<12 {
                guard raw[i] >= 48 && raw[i] <= 57 else { throw HTTPMessageError("the status code is not three digits") }
                status = status * 10 + Int(raw[i] - 48)
            }
            guard status >= 100 else { throw HTTPMessageError("status code \(status) is out of range") }
            var i = 12
            var reason = 12..<12
            if raw[i] == 32 {
                let start = i + 1
                while raw[i] != 13 {
                    let b = raw[i]
                    if (b < 0x20 && b != 0x09) || b == 0x7f { throw HTTPMessageError("a control byte in the reason phrase") }
                    i += 1
                }
                reason = start..<i
            }
            guard raw[i] == 13, raw[i + 1] == 10 else { throw HTTPMessageError("the status line is malformed") }
            i += 2

            var fields: [UpstreamResponseHead.Field] = []
            fields.reserveCapacity(16)  // one allocation for a typical head
            var contentLength: Int64?
            var transferEncodings: [Range<Int>] = []
            var closeRequested = false, keepAliveRequested = false
            var tokens: [String] = []
            while i < n {
                let (name, value) = try MessageFraming.fieldLine(raw, at: &i, head: "response head")
                let valueStart = value.lowerBound, valueEnd = value.upperBound
                guard fields.count < maxFields else { throw HTTPMessageError("more than \(maxFields) fields in the response head") }
                let field = UpstreamResponseHead.Field(name: name, value: value, line: name.lowerBound..<i)
                fields.append(field)
                let nameLength = name.count
                let first = raw[name.lowerBound] | 0x20
                if nameLength == 14 && first == 99 && equalsLower(raw, field.name, "content-length") {
                    // One value or a list of identical values (RFC 9110 §8.6).
                    var j = valueStart
                    while j < valueEnd {
                        var value: Int64 = 0, digits = 0
                        while j < valueEnd && raw[j] >= 48 && raw[j] <= 57 {
                            value = value * 10 + Int64(raw[j] - 48)
                            digits += 1
                            guard digits <= 18 else { throw HTTPMessageError("Content-Length is too large") }
                            j += 1
                        }
                        guard digits > 0 else { throw HTTPMessageError("Content-Length is not a number") }
                        if let known = contentLength, known != value { throw HTTPMessageError("differing Content-Length values") }
                        contentLength = value
                        while j < valueEnd && (raw[j] == 32 || raw[j] == 9) { j += 1 }
                        if j < valueEnd {
                            guard raw[j] == 44 else { throw HTTPMessageError("Content-Length is not a number") }
                            j += 1
                            while j < valueEnd && (raw[j] == 32 || raw[j] == 9) { j += 1 }
                        }
                    }
                    if valueStart == valueEnd { throw HTTPMessageError("Content-Length is empty") }
                } else if nameLength == 17 && first == 116 && equalsLower(raw, field.name, "transfer-encoding") {
                    transferEncodings.append(field.value)
                } else if nameLength == 10 && first == 99 && equalsLower(raw, field.name, "connection") {
                    // Nearly always one token: read without making strings.
                    if equalsLower(raw, field.value, "keep-alive") {
                        keepAliveRequested = true
                        continue
                    }
                    if equalsLower(raw, field.value, "close") {
                        closeRequested = true
                        continue
                    }
                    for token in String(decoding: UnsafeRawBufferPointer(rebasing: raw[field.value]), as: UTF8.self).split(separator: ",") {
                        let t = token.trimmingOWS().lowercased()
                        if t == "close" { closeRequested = true } else if t == "keep-alive" { keepAliveRequested = true } else if !t.isEmpty { tokens.append(t) }
                    }
                }
            }

            var keepAlive = minor == 1 ? !closeRequested : (keepAliveRequested && !closeRequested)
            let framing: BodyFraming
            if (100..<200).contains(status) || status == 204 || status == 304 || requestIsHEAD {
                framing = .none
            } else if !transferEncodings.isEmpty {
                if contentLength != nil { throw HTTPMessageError("both Content-Length and Transfer-Encoding in the response head") }
                // Only chunked: the gateway decodes it and frames the body again, which would
                // silently drop any other coding (gzip as a transfer coding is never seen in practice).
                let codings = transferEncodings.flatMap {
                    String(decoding: UnsafeRawBufferPointer(rebasing: raw[$0]), as: UTF8.self).split(separator: ",").map { $0.trimmingOWS().lowercased() }
                }.filter { !$0.isEmpty }
                guard codings == ["chunked"] else {
                    throw HTTPMessageError("unsupported Transfer-Encoding '\(codings.joined(separator: ", "))' (only chunked is forwarded)")
                }
                framing = .chunked
            } else if let contentLength {
                framing = .length(contentLength)
            } else {
                framing = .untilClose
                keepAlive = false
            }
            return UpstreamResponseHead(status: status, minorVersion: minor, block: block, reason: reason, fields: fields,
                                        framing: framing, keepAlive: keepAlive, connectionTokens: tokens)
        }
    }

    /// The bytes at `range` equal `lowercased` ignoring ASCII case.
    @inline(__always) static func equalsLower(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercased: StaticString) -> Bool {
        ASCII.equal(UnsafeRawBufferPointer(rebasing: raw[range]), lowercased)
    }
}
