import GatewayConfig
import NIOHTTP1
import Testing
@testable import Gateway

/// DESIGN.md phase 1 (accept): limits and request smuggling are a 400 before anything else runs.
@Suite struct AcceptChecksTests {
    /// The checks as FrontHandler calls them: every value of each framing header, as sent.
    private func problem(_ head: HTTPRequestHead, limits: Limits = Limits()) -> String? {
        AcceptChecks.problem(head, fields: RequestFields(head), limits: limits)
    }

    private static let host = ("Host", "api.local")

    @Test(arguments: [
        ("plain GET", Fixture.head(.GET, "/a")),
        ("POST with a length", Fixture.head(.POST, "/a", [Self.host, ("Content-Length", "5")])),
        ("POST chunked", Fixture.head(.POST, "/a", [Self.host, ("Transfer-Encoding", "chunked")])),
        ("chunked in capitals", Fixture.head(.POST, "/a", [Self.host, ("Transfer-Encoding", "Chunked")])),
        ("zero length", Fixture.head(.POST, "/a", [Self.host, ("Content-Length", "0")])),
        ("identical duplicate lengths", Fixture.head(.POST, "/a", [Self.host, ("Content-Length", "5"), ("Content-Length", "5")])),
        ("identical lengths in one header", Fixture.head(.POST, "/a", [Self.host, ("Content-Length", "5, 5")])),
        ("HTTP/1.0 without Host", Fixture.head(.GET, "/a", version: .http1_0, [])),
        ("host with port", Fixture.head(.GET, "/a", [("Host", "api.local:8080")])),
        ("IPv6 host", Fixture.head(.GET, "/a", [("Host", "[::1]:8080")])),
        ("absolute form", Fixture.head(.GET, "http://api.local/a")),
    ] as [(String, HTTPRequestHead)])
    func anOrdinaryRequestIsAccepted(name: String, head: HTTPRequestHead) {
        #expect(problem(head) == nil, "\(name)")
    }

    // MARK: framing (RFC 9112 §6.3)

    @Test func bothContentLengthAndTransferEncodingIsRefused() {
        let head = Fixture.head(.POST, "/a", [Self.host, ("Content-Length", "5"), ("Transfer-Encoding", "chunked")])
        #expect(problem(head)?.contains("both Content-Length and Transfer-Encoding") == true)
    }

    /// Only exactly one `chunked` is understood: a repeated `chunked` or any other coding is refused
    /// rather than guessing which framing the upstream would pick.
    @Test(arguments: [
        ["gzip, chunked"], ["chunked, chunked"], ["chunked", "chunked"], ["identity"], ["gzip"], ["chunked, gzip"],
        ["chunked, "], ["xchunked"], ["chunked;q=1"],
    ] as [[String]])
    func aTransferEncodingOtherThanExactlyChunkedIsRefused(values: [String]) {
        let head = Fixture.head(.POST, "/a", [Self.host] + values.map { ("Transfer-Encoding", $0) })
        #expect(problem(head)?.contains("only Transfer-Encoding: chunked") == true, "\(values)")
    }

    @Test func transferEncodingOnHTTP10IsRefused() {
        let head = Fixture.head(.POST, "/a", version: .http1_0, [("Transfer-Encoding", "chunked")])
        #expect(problem(head)?.contains("not allowed in HTTP/1.0") == true)
    }

    @Test(arguments: [["5", "6"], ["5, 6"], ["5", "5, 6"], ["05", "5"]] as [[String]])
    func differingContentLengthsAreRefused(values: [String]) {
        let head = Fixture.head(.POST, "/a", [Self.host] + values.map { ("Content-Length", $0) })
        #expect(problem(head)?.contains("conflicting Content-Length") == true, "\(values)")
    }

    @Test(arguments: ["-1", "abc", "", "+5", "0x10", "1e3", "5 5", "5,", "5.0", "9999999999999999999", "٥"])
    func aContentLengthThatIsNotADecimalNumberIsRefused(value: String) {
        let head = Fixture.head(.POST, "/a", [Self.host, ("Content-Length", value)])
        #expect(problem(head)?.contains("invalid Content-Length") == true, "'\(value)'")
    }

    // MARK: Host

    @Test func aMissingHostOnHTTP11IsRefused() {
        #expect(problem(Fixture.head(.GET, "/a", [])) == "the Host header is missing")
    }

    @Test func twoHostHeadersAreRefused() {
        let head = Fixture.head(.GET, "/a", [("Host", "api.local"), ("Host", "evil.example")])
        #expect(problem(head) == "more than one Host header")
    }

    @Test(arguments: ["api.local/admin", "user@api.local", "api.local\\x", "api local", "", "api.local?x", "api.local#x",
                      "api.local\u{7f}", "caf\u{e9}.example"])
    func aHostWithASlashUserinfoOrOddBytesIsRefused(host: String) {
        #expect(problem(Fixture.head(.GET, "/a", [("Host", host)])) == "invalid Host header", "'\(host)'")
    }

    // MARK: limits, versions, methods

    @Test func aTargetLongerThanTheURILimitIsRefused() {
        var limits = Limits()
        limits.maxURIBytes = 16
        let exact = "/" + String(repeating: "a", count: 15)
        #expect(problem(Fixture.head(.GET, exact), limits: limits) == nil)
        #expect(problem(Fixture.head(.GET, exact + "a"), limits: limits) == "the request target is longer than 16 bytes")
    }

    @Test func headersOverTheHeaderLimitAreRefused() {
        let head = Fixture.head(.GET, "/a", [Self.host, ("X-Filler", String(repeating: "f", count: 100))])
        var limits = Limits()
        limits.maxHeaderBytes = RequestFields(head).headerBytes
        #expect(problem(head, limits: limits) == nil)
        limits.maxHeaderBytes -= 1
        #expect(problem(head, limits: limits) == "the request headers are larger than \(limits.maxHeaderBytes) bytes")
    }

    @Test func headersOverTheDefaultLimitAreRefused() {
        let head = Fixture.head(.GET, "/a", [Self.host, ("Cookie", String(repeating: "c", count: 17 * 1024))])
        #expect(problem(head)?.contains("the request headers are larger than") == true)
    }

    @Test func headerBytesCountTheRequestLineAndEveryHeaderLine() {
        let head = Fixture.head(.GET, "/abc", [("Host", "h"), ("A", "bb")])
        // "GET /abc HTTP/1.1\r\n" and "Host: h\r\n", "A: bb\r\n" (approximately).
        #expect(RequestFields(head).headerBytes == 3 + 4 + 12 + (4 + 1 + 4) + (1 + 2 + 4))
    }

    @Test(arguments: [(2, 0), (0, 9), (1, 2), (3, 0)] as [(Int, Int)])
    func aVersionOtherThanHTTP1IsRefused(major: Int, minor: Int) {
        let head = Fixture.head(.GET, "/a", version: HTTPVersion(major: major, minor: minor))
        #expect(problem(head) == "HTTP/\(major).\(minor) is not supported")
    }

    @Test func connectIsRefused() {
        #expect(problem(Fixture.head(.CONNECT, "api.local:443")) == "CONNECT is not supported")
    }

    // MARK: WebSocket upgrade

    @Test(arguments: [
        ("Upgrade", "websocket", true), ("keep-alive, Upgrade", "WebSocket", true), ("upgrade", "websocket, foo", true),
        ("Upgrade", "h2c", false), ("keep-alive", "websocket", false), ("Upgrade", "websockets", false),
    ] as [(String, String, Bool)])
    func aWebSocketUpgradeNeedsUpgradeWebsocketAndConnectionUpgrade(connection: String, upgrade: String, expected: Bool) {
        let head = Fixture.head(.GET, "/ws", [Self.host, ("Connection", connection), ("Upgrade", upgrade)])
        #expect(AcceptChecks.isWebSocketUpgrade(head, fields: RequestFields(head)) == expected)
    }

    @Test func aWebSocketUpgradeIsAGet() {
        let head = Fixture.head(.POST, "/ws", [Self.host, ("Connection", "Upgrade"), ("Upgrade", "websocket")])
        #expect(!AcceptChecks.isWebSocketUpgrade(head, fields: RequestFields(head)))
    }

    @Test func connectionUpgradeWithoutAnUpgradeHeaderIsNoWebSocket() {
        let head = Fixture.head(.GET, "/ws", [Self.host, ("Connection", "Upgrade")])
        #expect(!AcceptChecks.isWebSocketUpgrade(head, fields: RequestFields(head)))
    }
}
