import Foundation
import RegoLite
import Testing
@testable import DecisionLog

@Suite struct MaskingTests {
    static func encode(_ record: DecisionRecord, masks: [MaskRule] = []) -> Value {
        let prepared = RecordEncoder(masks: masks, labelPairs: []).prepare(record)
        return json(String(decoding: prepared.json, as: UTF8.self))
    }

    @Test func eraseAndUpsertOnNestedPointersAreRecordedAsOPADoes() throws {
        let input = json(#"{"user": {"profile": {"ssn": "123-45", "name": "A"}}, "items": [{"card": "4111"}, {"card": "5500"}], "a/b": {"~c": 1}}"#)
        let masks = [
            try MaskRule(.erase, pointer: "/input/user/profile/ssn"),
            try MaskRule(.upsert(.string("****")), pointer: "/input/items/1/card"),
            try MaskRule(.erase, pointer: "/input/a~1b/~0c"),
            try MaskRule(.erase, pointer: "/input/does/not/exist"),
            try MaskRule(.upsert(.string("x")), pointer: "/input/user/added"),
        ]
        let value = Self.encode(sampleRecord(input: input), masks: masks)
        #expect(value["input"]?["user"] == json(#"{"profile": {"name": "A"}, "added": "x"}"#))
        #expect(value["input"]?["items"] == json(#"[{"card": "4111"}, {"card": "****"}]"#))
        #expect(value["input"]?["a/b"] == .emptyObject)
        #expect(value["erased"] == json(#"["/input/user/profile/ssn", "/input/a~1b/~0c"]"#))
        #expect(value["masked"] == json(#"["/input/items/1/card", "/input/user/added"]"#))
    }

    /// A token's member encoded once (with what the scrub left out of it) is copied into every
    /// later record of the token, byte for byte what encoding it again would give; a mask that
    /// reaches into the token is never bypassed by the shared encoding.
    @Test func aTokenEncodedOnceIsWhatEveryRecordOfItWrites() throws {
        let jws = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
        func record(_ n: Int, shared: EncodedTokenMember?) -> DecisionRecord {
            var r = sampleRecord(n, input: json("""
                {"request_id": "req-\(n)", "method": "GET", "path": "/p/\(n)", "authenticated": true,
                 "token": {"header": {"alg": "RS256"}, "payload": {"sub": "alice", "email": "a@x", "nested": "\(jws)"}}}
                """))
            r.tokenEncoding = shared
            return r
        }
        let encoder = RecordEncoder(masks: [], labelPairs: [])
        let shared = EncodedTokenMember()
        for n in 0..<3 {
            let withShared = record(n, shared: shared)
            var without = withShared
            without.tokenEncoding = nil
            let plain = encoder.prepare(without).json
            let viaShared = encoder.prepare(withShared).json
            #expect(viaShared == plain, "record \(n)")
            #expect(shared.cached != nil)
        }
        let value = json(String(decoding: encoder.prepare(record(9, shared: shared)).json, as: UTF8.self))
        #expect(value["erased"] == json(#"["/input/token/payload/nested"]"#))
        #expect(value["input"]?["token"]?["payload"]?["nested"] == nil)
        #expect(value["input"]?["request_id"] == .string("req-9"))

        let masked = RecordEncoder(masks: [try MaskRule(.erase, pointer: "/input/token/payload/email")], labelPairs: [])
        let out = json(String(decoding: masked.prepare(record(10, shared: shared)).json, as: UTF8.self))
        #expect(out["input"]?["token"]?["payload"]?["email"] == nil)
        #expect(out["input"]?["token"]?["payload"]?["sub"] == .string("alice"))
    }

    /// A denial's explanation can be left to the writer: made when the record is encoded, with
    /// its time, the same as one made on the request path.
    @Test func anExplanationLeftToTheWriterIsMadeThereWithItsTime() throws {
        let query = try PreparedQuery(policy: try PolicyEngine.compile(modules: [("t.rego", "package t\n\nallow if input.x == 1\n")]),
                                      query: "data.t.allow")
        let input = json(#"{"x": 2}"#)
        var lazy = sampleRecord(allowed: false, input: input)
        lazy.explain = { query.explain(input: input, alsoRule: "allow") }
        var eager = lazy
        eager.explain = nil
        eager.explanation = query.explain(input: input, alsoRule: "allow")
        let made = Self.encode(lazy), given = Self.encode(eager)
        #expect(made["explanation"] != nil)
        #expect(made["explanation"] == given["explanation"])
        #expect(made["metrics"]?["timer_rego_explain_ns"] != nil)
        #expect(given["metrics"]?["timer_rego_explain_ns"] == nil)
    }

    @Test func maskingNeverMutatesTheOriginal() throws {
        let input = json(#"{"user": {"ssn": "123"}, "path": "/x"}"#)
        let record = sampleRecord(input: input)
        let before = record.input
        let value = Self.encode(record, masks: [try MaskRule(.erase, pointer: "/input/user/ssn"),
                                                try MaskRule(.upsert(.string("m")), pointer: "/result")])
        #expect(value["input"]?["user"] == .emptyObject)
        #expect(value["result"] == .string("m"))
        #expect(record.input == before)
        #expect(record.input?["user"]?["ssn"] == .string("123"))
        #expect(record.result == .true)
    }

    @Test func maskingTheResultIsListedToo() throws {
        var record = sampleRecord()
        record.result = json(#"{"allow": false, "reasons": ["r"], "secret": "s"}"#)
        let value = Self.encode(record, masks: [try MaskRule(.erase, pointer: "/result/secret")])
        #expect(value["result"] == json(#"{"allow": false, "reasons": ["r"]}"#))
        #expect(value["erased"] == json(#"["/result/secret"]"#))
    }

    @Test(arguments: ["input/x", "/data/x", "/result", ""])
    func invalidPointersAreRefused(pointer: String) {
        #expect(throws: MaskRule.InvalidPointer.self) { try MaskRule(.erase, pointer: pointer) }
    }

    @Test func noTokenOrAuthorizationEverReachesTheOutput() throws {
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz"
        let input = json("""
            {"headers": {"Authorization": "Bearer \(token)", "cookie": "session=s3cr3t-cookie", "user-agent": "t",
                         "x-forwarded-token": "\(token)"},
             "query": {"access_token": ["\(token)"], "page": ["1"]},
             "token": {"raw": "\(token)", "header": {"alg": "RS256"}, "payload": {"sub": "alice"}},
             "nested": [{"deep": "prefix \(token) suffix"}], "opaque": "opaque-secret-value-1234"}
            """)
        var record = sampleRecord(input: input)
        record.credentials = [token, "opaque-secret-value-1234"]
        record.reasons = ["token \(token) rejected"]
        record.error = "saw opaque-secret-value-1234"
        // Masks that would re-insert nothing: the scrub runs first, whatever the masks say.
        let masks = [try MaskRule(.upsert(.string("kept")), pointer: "/input/headers/user-agent")]
        let prepared = RecordEncoder(masks: masks, labelPairs: []).prepare(record)
        let text = String(decoding: prepared.json, as: UTF8.self)
        #expect(!text.contains(token))
        #expect(!text.contains("eyJhbGciOiJSUzI1NiJ9"))
        #expect(!text.contains("Bearer"))
        #expect(value0HeadersHaveNoAuthorization(text))
        #expect(!text.contains("s3cr3t-cookie"))
        #expect(!text.contains("opaque-secret-value-1234"))
        let value = json(text)
        #expect(value["input"]?["headers"] == json(#"{"user-agent": "kept"}"#))
        #expect(value["input"]?["query"]?["page"] == json(#"["1"]"#))
        #expect(value["input"]?["token"]?["payload"]?["sub"] == .string("alice"))
        let erased = value["erased"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(erased.contains("/input/headers/Authorization"))
        #expect(erased.contains("/input/token/raw"))
        #expect(erased.contains("/input/query/access_token/0"))
        #expect(value["reasons"] == json(#"["token [REDACTED] rejected"]"#))
        #expect(value["error"] == .string("saw [REDACTED]"))
    }

    @Test func aMaskCannotBringACredentialBack() throws {
        let masks = [try MaskRule(.upsert(.string("Bearer abc")), pointer: "/input/headers/Authorization"),
                     try MaskRule(.upsert(.string("eyJhbGciOiJub25lIn0.e30.x")), pointer: "/input/note")]
        let value = Self.encode(sampleRecord(), masks: masks)
        #expect(value["input"]?["headers"] == json(#"{"user-agent": "t"}"#))
        #expect(value["input"]?["note"] == nil)
        #expect(value["masked"] == json(#"["/input/headers/Authorization", "/input/note"]"#))
        #expect(value["erased"] == json(#"["/input/headers/Authorization", "/input/note"]"#))
    }

    @Test func aRawTokenStringAsInputTokenIsErased() {
        let input = json(#"{"token": "eyJhbGciOiJIUzI1NiJ9.e30.sig", "path": "/"}"#)
        let value = Self.encode(sampleRecord(input: input))
        #expect(value["input"]?["token"] == nil)
        #expect(value["erased"] == json(#"["/input/token"]"#))
    }

    @Test func ordinaryStringsAreNotMistakenForTokens() {
        #expect(!CredentialScrubber.containsCompactJWS("eyJust a sentence. With dots."))
        #expect(!CredentialScrubber.containsCompactJWS("/api/devices/d-42"))
        #expect(CredentialScrubber.containsCompactJWS("Bearer eyJhbGciOiJub25lIn0.e30."))
    }

    @Test func escapingAndTimestampsRoundTrip() throws {
        var out: [UInt8] = []
        JSONBytes.string("a\"b\\c\n\u{1}\u{2028}é", into: &out)
        #expect(String(decoding: out, as: UTF8.self) == #""a\"b\\c\n\u0001\u2028é""#)
        #expect(try JSONReader.parse(bytes: out) == .string("a\"b\\c\n\u{1}\u{2028}é"))
        for ns: Int64 in [0, 1_764_032_523_123_456_789, 951_782_400_000_000_001, -1_000_000_000] {
            #expect(RFC3339.parse(RFC3339.format(nanoseconds: ns)) == ns)
        }
        #expect(RFC3339.format(nanoseconds: 951_782_400_000_000_001) == "2000-02-29T00:00:00.000000001Z")
        #expect(RFC3339.parse("2025-11-25T02:02:03+01:00") == 1_764_032_523_000_000_000)
        #expect(RFC3339.parse("2025-11-25 02:02") == nil)
    }

    @Test func randomStringsRoundTripThroughTheEncoder() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "\n", "\t", "\u{1}", "\u{1f}", "é", "€", "\u{2028}", "\u{2029}", "\u{2027}", "😀", "/"]
        for _ in 0..<500 {
            let length = Int.random(in: 0...40, using: &generator)
            let text = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            var out: [UInt8] = []
            JSONBytes.string(text, into: &out)
            #expect(try JSONReader.parse(bytes: out) == .string(text), "\(text.debugDescription)")
            #expect(!out.contains(0x0A) && !String(decoding: out, as: UTF8.self).contains("\u{2028}"))
        }
    }

    @Test func gzipRoundTrips() throws {
        let text = Array(String(repeating: "{\"decision_id\":\"x\"},", count: 1000).utf8)
        let compressed = try Gzip.compress(text)
        #expect(compressed.count < text.count / 10)
        #expect(compressed.prefix(2) == [0x1f, 0x8b])
        #expect(try Gzip.decompress(compressed) == text)
    }
}

/// The written headers hold no credential header, whatever its case.
func value0HeadersHaveNoAuthorization(_ text: String) -> Bool {
    guard case .object(let headers)? = json(text)["input"]?["headers"] else { return true }
    return !headers.keys.contains { ["authorization", "cookie", "proxy-authorization"].contains($0.stringValue?.lowercased() ?? "") }
}
