import NIOCore
import NIOHTTP1
import Testing
@testable import Gateway

/// HTTP/RequestDecoder.swift: client requests read from bytes, strictly (RFC 9112), one at a time.
@Suite struct RequestDecoderTests {
    struct Request: Equatable {
        var line: String
        var headers: [String]
        var body = ""
        var ended = false
    }

    /// Decodes `text` fed in pieces of `step` bytes (1 = byte by byte), taking every request.
    private func decode(_ text: String, step: Int = .max, headLimit: Int = 16 * 1024) throws -> [Request] {
        var decoder = RequestDecoder(headLimit: headLimit)
        var out: [Request] = []
        let bytes = Array(text.utf8)
        var buffer = ByteBuffer()
        var i = 0
        repeat {
            let n = min(step, bytes.count - i)
            buffer.writeBytes(bytes[i..<(i + n)])
            i += n
            while let event = try decoder.next(&buffer) {
                switch event {
                case .head(let head, _):
                    out.append(Request(line: "\(head.method.rawValue) \(head.uri) \(head.version)",
                                       headers: head.headers.map { "\($0.name): \($0.value)" }))
                case .body(let part):
                    out[out.count - 1].body += String(buffer: part)
                case .end:
                    out[out.count - 1].ended = true
                }
            }
        } while i < bytes.count
        return out
    }

    private func problem(_ text: String, headLimit: Int = 16 * 1024) -> HTTPMessageError? {
        do {
            _ = try decode(text, headLimit: headLimit)
            return nil
        } catch {
            return error as? HTTPMessageError
        }
    }

    @Test(arguments: [1, 2, 5, 64, Int.max])
    func requestsWithAndWithoutBodiesInAnyPieces(step: Int) throws {
        let text = "GET /a?x=1 HTTP/1.1\r\nHost: api.local\r\nX-Empty:\r\nX-Spaced: \t two  words \t\r\n\r\n"
            + "POST /b HTTP/1.1\r\nHost: api.local\r\nContent-Length: 5\r\n\r\nhello"
            + "PUT /c HTTP/1.1\r\nHost: api.local\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"
            + "DELETE /d HTTP/1.0\r\nContent-Length: 0\r\n\r\n"
        #expect(try decode(text, step: step) == [
            Request(line: "GET /a?x=1 HTTP/1.1", headers: ["Host: api.local", "X-Empty: ", "X-Spaced: two  words"], ended: true),
            Request(line: "POST /b HTTP/1.1", headers: ["Host: api.local", "Content-Length: 5"], body: "hello", ended: true),
            Request(line: "PUT /c HTTP/1.1", headers: ["Host: api.local", "Transfer-Encoding: chunked"], body: "abc0123456789", ended: true),
            Request(line: "DELETE /d HTTP/1.0", headers: ["Content-Length: 0"], ended: true),
        ])
    }

    @Test func emptyLinesBeforeARequestAreIgnored() throws {
        let requests = try decode("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", step: 1)
        #expect(requests.map(\.line) == ["GET / HTTP/1.1"])
    }

    @Test func theFieldsThePhasesReadAreFoundWhileDecoding() throws {
        var decoder = RequestDecoder(headLimit: 4096)
        var buffer = ByteBuffer(string: "GET /x HTTP/1.1\r\nhost: api.local\r\nAUTHORIZATION: Bearer t\r\nX-Request-ID: r-1\r\n"
                                        + "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n")
        guard case .head(let head, let fields)? = try decoder.next(&buffer) else {
            Issue.record("no head")
            return
        }
        #expect(head.method == .GET)
        #expect(fields.host == "api.local" && fields.hostCount == 1)
        #expect(fields.authorization == "Bearer t" && fields.authorizationCount == 1)
        #expect(fields.requestID == "r-1")
        #expect(fields.connections == ["keep-alive, Upgrade"] && fields.upgrades == ["websocket"])
        #expect(fields.headerBytes == RequestFields(head).headerBytes)
        #expect(fields.keepAlive(minorVersion: 1))
        #expect(AcceptChecks.isWebSocketUpgrade(head, fields: fields))
    }

    @Test func theRepeatedValueStandsOnlyForExactlyTheSameBytes() throws {
        // The connection's last Authorization is reused for a byte-equal value and never for another.
        let kept = "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJl"
        for (sent, expected) in [(kept, kept), (kept + "x", kept + "x"), (String(kept.dropLast()), String(kept.dropLast())),
                                 (kept.replacingOccurrences(of: "u-1", with: "u-2"), kept.replacingOccurrences(of: "u-1", with: "u-2")),
                                 ("bearer" + kept.dropFirst(6), "bearer" + kept.dropFirst(6))] {
            let (_, fields) = try RequestDecoder.parseHead(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: \(sent)\r\n\r\n"),
                                                           repeatedValue: kept)
            #expect(fields.authorization == expected)
        }
    }

    @Test func unusualMethodsKeepTheirName() throws {
        #expect(try decode("PROPFIND /x HTTP/1.1\r\nHost: a\r\n\r\nBREW /y HTTP/1.1\r\nHost: a\r\n\r\n").map(\.line)
                == ["PROPFIND /x HTTP/1.1", "BREW /y HTTP/1.1"])
    }

    @Test func theNextRequestWaitsUntilTheCallerTakesIt() throws {
        // The decoder reads one request; what follows stays in the buffer, untouched.
        var decoder = RequestDecoder(headLimit: 4096)
        var buffer = ByteBuffer(string: "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
        guard case .head? = try decoder.next(&buffer), case .end? = try decoder.next(&buffer) else {
            Issue.record("the first request was not read")
            return
        }
        #expect(decoder.isAtHead)
        #expect(String(buffer: buffer) == "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
        // After an upgrade request the rest belongs to the new protocol (handed to the splice).
        #expect(String(buffer: decoder.takeRest(&buffer)) == "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(buffer.readableBytes == 0)
    }

    @Test func aHeadWhoseBodyCannotBeFramedIsTheLastThingRead() throws {
        // Phase 1 answers 400 and closes; nothing behind the head is taken as a body or a request.
        for text in ["POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
                     "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
                     "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
                     "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"] {
            let requests = try decode(text)
            #expect(requests.count == 1 && requests[0].body == "" && !requests[0].ended, "\(text)")
        }
    }

    @Test(arguments: [
        ("obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n", "obsolete line folding"),
        ("space before colon", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 4\r\n\r\nabcd", "whitespace before a colon"),
        ("control byte", "GET / HTTP/1.1\r\nHost: a\r\nX-Bad: a\u{01}b\r\n\r\n", "control byte"),
        ("NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-Bad: a\u{00}b\r\n\r\n", "control byte"),
        ("bare LF in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-Bad: a\nb: c\r\n\r\n", "bare LF"),
        ("bare CR in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-Bad: a\rb\r\n\r\n", "bare CR"),
        ("bad name byte", "GET / HTTP/1.1\r\nHost: a\r\nX(Bad): a\r\n\r\n", "invalid byte"),
        ("no name", "GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n", "without a name"),
        ("two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "request target is empty"),
        ("tab in target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", "request target"),
        ("no version", "GET /\r\nHost: a\r\n\r\n", "request target"),
        ("bad version", "GET / HTTP/one\r\nHost: a\r\n\r\n", "HTTP version"),
        ("bare LF line ends", "GET / HTTP/1.1\nHost: a\n\n", "bare LF"),
        ("bare LF in a field line", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n", "bare LF"),
        ("no method", " / HTTP/1.1\r\nHost: a\r\n\r\n", "method"),
        ("bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "not hexadecimal"),
        ("chunk too long", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", "longer than its size"),
        ("chunk bare LF", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\nab\r\n", "bare LF"),
        ("huge chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff1\r\n", "too large"),
    ])
    func malformedRequestsAreErrors(name: String, text: String, expected: String) {
        let error = problem(text)
        #expect(error?.description.contains(expected) == true, "\(name): \(String(describing: error))")
        #expect(error?.tooLarge == false)
    }

    @Test func theEightByteCheckFindsEveryByteTheByteLoopWouldStopAt() throws {
        // Every byte value at every position of a word of otherwise plain bytes, and next to another
        // flagged byte (the trick's borrows must not hide one).
        for b in 0...255 {
            for position in 0..<8 {
                for filler: UInt8 in [0x61, 0x21, 0xff, 0x80] {
                    var bytes = [UInt8](repeating: filler, count: 8)
                    bytes[position] = UInt8(b)
                    let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    let expected = b < 0x21 || b == 0x7f
                    #expect(MessageFraming.hasByteBelow0x21OrDEL(word) == expected, "byte \(b) at \(position) among \(filler)")
                }
            }
        }
        // A value of plain bytes longer than a word still ends at its last non-space byte.
        #expect(try decode("GET / HTTP/1.1\r\nX-Long: abcdefghijklmnopqrstuvwxyz0123456789  \r\n\r\n")[0].headers
                == ["X-Long: abcdefghijklmnopqrstuvwxyz0123456789"])
        #expect(problem("GET / HTTP/1.1\r\nX-Long: abcdefghijklmnop\u{7f}qrstuvwxyz0123456789\r\n\r\n")?.description.contains("control byte") == true)
    }

    @Test func aBlockThatIsNotAWholeHeadIsRefusedBeforeAnyScan() {
        // parseHead relies on the final empty line to stop its scans: both parsers check it first.
        #expect(throws: HTTPMessageError.self) { _ = try RequestDecoder.parseHead(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: a")) }
        #expect(throws: HTTPMessageError.self) {
            _ = try ResponseParser.parseHead(ByteBuffer(string: "HTTP/1.1 200 OK\r\nX-Long: abcdefghijklmnopqrstuvwxyz"), requestIsHEAD: false)
        }
    }

    @Test func aHeadOverTheLimitIsTooLarge() {
        let error = problem("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "a", count: 5000) + "\r\n\r\n", headLimit: 4096)
        #expect(error?.tooLarge == true)
        // At the limit it is read.
        #expect(problem("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "a", count: 4000) + "\r\n\r\n", headLimit: 4096) == nil)
    }

    @Test func moreThanTheFieldCountLimitIsAnError() {
        let fields = (0...RequestDecoder.maxFields).map { "X-\($0): v\r\n" }.joined()
        let error = problem("GET / HTTP/1.1\r\n" + fields + "\r\n", headLimit: 64 * 1024)
        #expect(error?.description.contains("more than \(RequestDecoder.maxFields) fields") == true)
    }
}
