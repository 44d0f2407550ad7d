import NIOCore
import NIOHTTP1
import RegoLite
import Testing
@testable import Gateway

/// DESIGN.md, errors: `{"error":{"code":"...","message":"...","details":{...}}}` (details
/// optional); 401s carry RFC 6750's `WWW-Authenticate`.
@Suite struct GatewayErrorTests {
    private func body(_ error: GatewayError) throws -> Value {
        try JSONReader.parse(String(buffer: error.body(allocator: ByteBufferAllocator())))
    }

    private func header(_ name: String, of error: GatewayError) -> [String] {
        error.headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
    }

    @Test func theBodyIsAnErrorObjectWithCodeAndMessage() throws {
        let expected = try JSONReader.parse(#"{"error": {"code": "bad_request", "message": "the path is invalid"}}"#)
        #expect(try body(.badRequest("the path is invalid")) == expected)
    }

    @Test func detailsAreAnObjectInsideTheError() throws {
        let error = GatewayError(status: .forbidden, code: .forbidden, message: "the policy denied this request",
                                 details: [("reasons", .array([.string("not yours")])), ("policy_error", .bool(true))])
        let expected = try JSONReader.parse(#"""
            {"error": {"code": "forbidden", "message": "the policy denied this request",
                       "details": {"reasons": ["not yours"], "policy_error": true}}}
            """#)
        #expect(try body(error) == expected)
    }

    @Test func noDetailsMeansNoDetailsMember() throws {
        let parsed = try body(.badRequest("x"))
        #expect(parsed["error"]?["details"] == nil)
        #expect(parsed.objectValue?.count == 1)
    }

    /// Messages may quote request data: the body stays one valid JSON document whatever they hold.
    @Test(arguments: ["say \"hi\"", "line\nbreak", "back\\slash", "nul\u{0}", "</script>", "caf\u{e9} \u{1F600}", "\u{2028}"])
    func aMessageIsEscapedIntoValidJSON(message: String) throws {
        let parsed = try body(.badRequest(message))
        #expect(parsed["error"]?["message"] == .string(message))
    }

    @Test(arguments: [
        (GatewayError.Code.badRequest, "bad_request"), (.missingToken, "missing_token"), (.invalidToken, "invalid_token"),
        (.forbidden, "forbidden"), (.notFound, "not_found"), (.methodNotAllowed, "method_not_allowed"),
        (.payloadTooLarge, "payload_too_large"), (.upstreamUnavailable, "upstream_unavailable"),
        (.keysUnavailable, "keys_unavailable"), (.policyUnavailable, "policy_unavailable"),
        (.upstreamTimeout, "upstream_timeout"),
    ] as [(GatewayError.Code, String)])
    func codesAreDesignsNames(code: GatewayError.Code, name: String) throws {
        #expect(code.rawValue == name)
        let parsed = try body(GatewayError(status: .badRequest, code: code, message: "m"))
        #expect(parsed["error"]?["code"] == .string(name))
    }

    @Test func anInvalidTokenIs401WithRFC6750Challenge() throws {
        let error = GatewayError.unauthorized(.invalidToken, description: "expired", message: "the token has expired")
        #expect(error.status == .unauthorized)
        #expect(header("WWW-Authenticate", of: error) == [#"Bearer error="invalid_token", error_description="expired""#])
        let parsed = try body(error)
        #expect(parsed["error"]?["code"] == .string("invalid_token"))
        #expect(parsed["error"]?["details"]?["reason"] == .string("expired"))
    }

    /// RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
    @Test func aMissingTokenIs401WithABareChallenge() throws {
        let error = GatewayError.unauthorized(.missingToken, description: "missing_token", message: "a bearer token is required")
        #expect(error.status == .unauthorized)
        let challenge = header("WWW-Authenticate", of: error)
        #expect(challenge.count == 1)
        #expect(challenge.first?.hasPrefix("Bearer") == true)
        #expect(challenge.first?.contains("error=") == false)
        let parsed = try body(error)
        #expect(parsed["error"]?["code"] == .string("missing_token"))
    }
}
