import Testing
@testable import Gateway

/// DESIGN.md phase 2: a well-formed incoming `X-Request-ID` (1–128 visible ASCII) is kept, else
/// one is minted.
@Suite struct RequestIDTests {
    @Test(arguments: ["a", "abc-123", "0f8e2c1a-7d3b-4c5e-9a1f-2b3c4d5e6f70", "!~", "a.b_c:d/e@f", String(repeating: "x", count: 128)])
    func aWellFormedIDIsKept(value: String) {
        #expect(RequestID.accept(value) == value)
    }

    @Test(arguments: ["", String(repeating: "x", count: 129), "a b", " a", "a\tb", "a\u{0}b", "a\r\nX-Injected: 1", "a\u{7f}",
                      "caf\u{e9}", "id\u{2028}", "\u{1F600}"])
    func aMalformedIDIsRefused(value: String) {
        #expect(RequestID.accept(value) == nil, "'\(value.debugDescription)'")
    }

    @Test func noIDIsRefused() {
        #expect(RequestID.accept(nil) == nil)
    }

    @Test func aMintedIDIs32LowerCaseHexDigits() {
        let id = RequestID.mint()
        #expect(id.utf8.count == 32)
        #expect(id.allSatisfy { "0123456789abcdef".contains($0) }, "\(id)")
    }

    @Test func mintedIDsDiffer() {
        let ids = (0..<100).map { _ in RequestID.mint() }
        #expect(Set(ids).count == ids.count)
    }

    @Test func aMintedIDIsAcceptedWhenSentBack() {
        let id = RequestID.mint()
        #expect(RequestID.accept(id) == id)
    }
}
