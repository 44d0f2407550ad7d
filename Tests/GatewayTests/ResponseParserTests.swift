import NIOCore
import Testing
@testable import Gateway

/// Upstream/ResponseParser.swift: upstream responses read from bytes, strictly (RFC 9112).
@Suite struct ResponseParserTests {
    struct Parsed: Equatable {
        var heads: [Int] = []
        var body = ""
        var ends = 0
    }

    /// Feeds `text` in pieces of `step` bytes (1 = byte by byte); `close` ends with the upstream's close.
    private func parse(_ text: String, step: Int = .max, head: Bool = false, close: Bool = false) throws -> (Parsed, ResponseParser) {
        var parser = ResponseParser()
        var out = Parsed()
        let bytes = Array(text.utf8)
        var i = 0
        let sink: (ResponseParser.Event) throws -> Void = { event in
            switch event {
            case .head(let h): out.heads.append(h.status)
            case .body(let b): out.body += String(buffer: b)
            case .end: out.ends += 1
            }
        }
        repeat {
            let n = min(step, bytes.count - i)
            var piece = ByteBuffer(bytes: bytes[i..<(i + n)])
            try parser.feed(&piece, requestIsHEAD: { head }, sink)
            i += n
        } while i < bytes.count
        if close { try parser.closed(sink) }
        return (out, parser)
    }

    @Test(arguments: [1, 3, 7, Int.max])
    func lengthAndChunkedBodiesInAnyPieces(step: Int) throws {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
            + "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"
        let (out, parser) = try parse(text, step: step)
        #expect(out == Parsed(heads: [200, 201], body: "helloabc0123456789", ends: 2))
        #expect(parser.isIdle)
    }

    @Test func informationalNoBodyAndHeadResponses() throws {
        let text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n"
        #expect(try parse(text).0 == Parsed(heads: [100, 204], body: "", ends: 1))
        // The answer to HEAD has no body, whatever its length says.
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", head: true).0 == Parsed(heads: [200], ends: 1))
    }

    @Test func aBodyWithoutLengthRunsUntilTheClose() throws {
        let (out, _) = try parse("HTTP/1.0 200 OK\r\n\r\nall of it", close: true)
        #expect(out == Parsed(heads: [200], body: "all of it", ends: 1))
        let head = try ResponseParser.parseHead(ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\n"), requestIsHEAD: false)
        #expect(head.framing == .untilClose && !head.keepAlive)
    }

    @Test func theBytesAfterA101AreLeftForTheSplice() throws {
        var parser = ResponseParser()
        var buffer = ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u{81}\u{02}hi")
        var statuses: [Int] = []
        try parser.feed(&buffer, requestIsHEAD: { false }) { if case .head(let h) = $0 { statuses.append(h.status) } }
        #expect(statuses == [101] && parser.isUpgraded)
        #expect(buffer.readableBytes == 5)
    }

    @Test func keepAliveFollowsTheVersionAndConnection() throws {
        func keepAlive(_ text: String) throws -> Bool { try ResponseParser.parseHead(ByteBuffer(string: text + "\r\n"), requestIsHEAD: false).keepAlive }
        #expect(try keepAlive("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"))
        #expect(try !keepAlive("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n"))
        #expect(try !keepAlive("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n"))
        #expect(try keepAlive("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n"))
        let head = try ResponseParser.parseHead(ByteBuffer(string: "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Private\r\nContent-Length: 5, 5\r\n\r\n"), requestIsHEAD: false)
        #expect(head.connectionTokens == ["x-private"] && head.framing == .length(5))
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n", "obsolete line folding"),
        ("HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", "whitespace before a colon"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "both Content-Length and Transfer-Encoding"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "differing Content-Length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", "Content-Length is not a number"),
        ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length is not a number"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "unsupported Transfer-Encoding"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "not hexadecimal"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", "longer than its size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n", "a bare LF"),
        ("HTTP/1.1 200 OK\r\nX-A: a\u{1}b\r\nContent-Length: 0\r\n\r\n", "control byte"),
        ("HTTP/1.1 200 OK\r\nX-A: abcdefghijklmnopqrstu\u{7f}vwxyz\r\nContent-Length: 0\r\n\r\n", "control byte"),
        ("HTTP/1.1 200 OK\r\nX-A: abcdefghijklmnop\nqrstuvwxyz\r\nContent-Length: 0\r\n\r\n", "a bare LF"),
        ("HTTP/1.1 200 OK\r\nX@A: b\r\nContent-Length: 0\r\n\r\n", "invalid byte"),
        ("HTTP/2 200 OK\r\n\r\n", "not HTTP/1.0 or HTTP/1.1"),
        ("HTTP/1.1 20 OK\r\n\r\n", "three digits"),
        ("HTTP/1.1 099 Nope\r\n\r\n", "out of range"),
    ] as [(String, String)])
    func malformedResponsesAreErrors(text: String, message: String) {
        #expect {
            _ = try parse(text)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test func limitsAndCutShortResponses() {
        #expect(throws: HTTPMessageError.self) {
            _ = try parse("HTTP/1.1 200 OK\r\nX-Big: " + String(repeating: "a", count: ResponseParser.maxHeadBytes) + "\r\n\r\n")
        }
        #expect(throws: HTTPMessageError.self) { _ = try parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", close: true) }
        #expect(throws: HTTPMessageError.self) {
            _ = try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", close: true)
        }
    }
}
