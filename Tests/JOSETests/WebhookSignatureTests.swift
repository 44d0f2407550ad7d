import Testing
@testable import JOSE

/// `X-Hub-Signature-256` verification (GitHub's webhook documentation gives the test vector).
@Suite struct WebhookSignatureTests {
    static let secret = Array("It's a Secret to Everybody".utf8)
    static let body = Array("Hello, World!".utf8)
    static let documented = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

    @Test func githubsDocumentedVectorSignsAndVerifies() {
        #expect(WebhookSignature.sign(body: Self.body, secret: Self.secret) == Self.documented)
        #expect(WebhookSignature.verify(header: Self.documented, body: Self.body, secret: Self.secret))
    }

    @Test func upperCaseHexIsAccepted() {
        let upper = "sha256=" + Self.documented.dropFirst(7).uppercased()
        #expect(WebhookSignature.verify(header: upper, body: Self.body, secret: Self.secret))
    }

    @Test(arguments: [
        nil,
        "",
        "sha256=",
        "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17ff",
        "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    ] as [String?])
    func malformedOrWrongSignaturesAreRefused(header: String?) {
        #expect(!WebhookSignature.verify(header: header, body: Self.body, secret: Self.secret))
    }

    @Test func aDifferentBodyOrSecretIsRefused() {
        #expect(!WebhookSignature.verify(header: Self.documented, body: Array("Hello, World?".utf8), secret: Self.secret))
        #expect(!WebhookSignature.verify(header: Self.documented, body: Self.body, secret: Array("other".utf8)))
    }

    @Test func rfc4231Case2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mac = HMACSHA256.mac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(WebhookSignature.hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func anEmptySecretStillMACs() {
        let header = WebhookSignature.sign(body: Self.body, secret: [])
        #expect(WebhookSignature.verify(header: header, body: Self.body, secret: []))
        #expect(!WebhookSignature.verify(header: header, body: Self.body, secret: Self.secret))
    }
}
