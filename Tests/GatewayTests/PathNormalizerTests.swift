import Testing
@testable import Gateway

/// DESIGN.md, Request pipeline, phase 3: routing, the policy and the upstream all see one
/// normalized path; an encoded `/` or a path escaping the root is a 400.
@Suite struct PathNormalizerTests {
    private func path(_ target: String) throws -> String { try PathNormalizer.normalize(target).path }

    // MARK: what is normalized

    @Test(arguments: [
        ("/%7Euser", "/~user"), ("/%7euser", "/~user"), ("/%41%42c", "/ABc"), ("/v%31/x", "/v1/x"),
        ("/a%2Db", "/a-b"), ("/a%5fb", "/a_b"), ("/a%2Eb", "/a.b"),
    ] as [(String, String)])
    func unreservedEscapesAreDecoded(target: String, expected: String) throws {
        #expect(try path(target) == expected)
    }

    @Test(arguments: [
        ("/%2a", "/%2A"), ("/%2A", "/%2A"), ("/a%20b", "/a%20b"), ("/%c3%a9t%c3%a9", "/%C3%A9t%C3%A9"),
        ("/%25", "/%25"), ("/%3f", "/%3F"), ("/%23", "/%23"), ("/%3b", "/%3B"),
    ] as [(String, String)])
    func otherEscapesAreKeptWithUpperCaseHex(target: String, expected: String) throws {
        #expect(try path(target) == expected)
    }

    @Test(arguments: [
        ("/a/./b", "/a/b"), ("/a/../b", "/b"), ("/a/b/../../c", "/c"), ("/./a", "/a"), ("/a/.", "/a/"),
        ("/a/b/..", "/a/"), ("/a/..", "/"), ("/.", "/"), ("/a/%2e/b", "/a/b"), ("/a/%2E%2e/b", "/b"),
        ("/a/.%2e/b", "/b"), ("/a/%2e./b", "/b"),
    ] as [(String, String)])
    func dotSegmentsAreResolved(target: String, expected: String) throws {
        #expect(try path(target) == expected)
    }

    @Test(arguments: [
        ("//a", "/a"), ("/a//b", "/a/b"), ("/a///b//", "/a/b/"), ("//", "/"), ("///a/./b", "/a/b"),
    ] as [(String, String)])
    func duplicateSlashesAreMerged(target: String, expected: String) throws {
        #expect(try path(target) == expected)
    }

    @Test(arguments: [("/a/", "/a/"), ("/a/b/", "/a/b/"), ("/", "/"), ("/a", "/a"), ("/a/b", "/a/b")] as [(String, String)])
    func aTrailingSlashIsKeptAndNoneIsAdded(target: String, expected: String) throws {
        #expect(try path(target) == expected)
    }

    /// Paths already normal take a shortcut (no escape, no empty or dot segment): they must come
    /// back exactly as sent, with the same segments the full normalization gives.
    @Test(arguments: ["/", "/a", "/a/b/", "/api/devices/d-42", "/a:b@c/d;e=f,g", "/!$&'()*+/x~y_z-1", "/a./b..c/d.",
                      "/.well-known/x", "/a/.hidden/"])
    func aPathAlreadyNormalComesBackAsSent(target: String) throws {
        let normalized = try PathNormalizer.normalize(target + "?q=1")
        #expect(normalized.path == target)
        #expect(normalized.segments == target.split(separator: "/").map(String.init))
        #expect(normalized.query == "q=1")
    }

    @Test(arguments: ["/", "/a/b/", "/%7Ea/%2a/../b", "/api/devices/d-42", "//x//y/.", "/a/b/.."])
    func segmentsAreThePathSplitAtSlashes(target: String) throws {
        let normalized = try PathNormalizer.normalize(target)
        #expect(normalized.segments == normalized.path.split(separator: "/").map(String.init))
    }

    // MARK: what is refused

    @Test(arguments: ["/..", "/../a", "/a/../..", "/%2e%2e", "/%2E%2E/etc/passwd", "/a/%2e%2e/%2e%2e/b", "/.%2e/x",
                      "http://h/../a"])
    func climbingAboveTheRootIsRefused(target: String) {
        #expect(throws: PathNormalizer.Failure.escapesRoot) { try PathNormalizer.normalize(target) }
    }

    @Test(arguments: ["/a%2Fb", "/a%2fb", "/a%5Cb", "/a%5cb", "/a%00b", "/a%0d%0aX: y", "/a%09", "/a%7f", "/a%7F"])
    func anEncodedSlashBackslashOrControlByteIsRefused(target: String) {
        #expect(throws: PathNormalizer.Failure.encodedSlash) { try PathNormalizer.normalize(target) }
    }

    @Test(arguments: ["/%zz", "/%4", "/a%4/b", "/%", "/a%", "/a%g0", "/%%41", "/%u002e"])
    func anInvalidPercentEscapeIsRefused(target: String) {
        #expect(throws: PathNormalizer.Failure.invalidEscape) { try PathNormalizer.normalize(target) }
    }

    @Test(arguments: [
        ("/a b", 0x20), ("/a\"b", 0x22), ("/a<b", 0x3C), ("/a>b", 0x3E), ("/a\\b", 0x5C), ("/a|b", 0x7C),
        ("/a{b", 0x7B), ("/a^b", 0x5E), ("/a`b", 0x60), ("/a[b", 0x5B), ("/a\tb", 0x09), ("/a\u{7f}", 0x7F),
        ("/caf\u{e9}", 0xC3),
    ] as [(String, UInt8)])
    func aRawByteOutsideThePathGrammarIsRefused(target: String, byte: UInt8) {
        #expect(throws: PathNormalizer.Failure.invalidCharacter(byte)) { try PathNormalizer.normalize(target) }
    }

    @Test(arguments: ["*", "ftp://h/a", "h/a", "", "a", "mailto:x@y", "http:/a", "javascript://x/a", "ws://h/a"])
    func aTargetThatIsNeitherAPathNorAnHTTPURLIsRefused(target: String) {
        #expect(throws: PathNormalizer.Failure.notOriginForm) { try PathNormalizer.normalize(target) }
    }

    // MARK: query and fragment

    @Test(arguments: [
        ("/a?x=%2F&y=../..", "x=%2F&y=../.."), ("/a?", ""), ("/a?b?c", "b?c"), ("/a?x=%zz+1", "x=%zz+1"), ("/a", nil),
    ] as [(String, String?)])
    func theQueryIsKeptAsSent(target: String, query: String?) throws {
        let normalized = try PathNormalizer.normalize(target)
        #expect(normalized.path == "/a")
        #expect(normalized.query == query)
    }

    @Test(arguments: [("/a#frag", "/a", nil), ("/a?x=1#frag", "/a", "x=1"), ("/a/#x", "/a/", nil)] as [(String, String, String?)])
    func theFragmentIsDropped(target: String, path: String, query: String?) throws {
        let normalized = try PathNormalizer.normalize(target)
        #expect(normalized.path == path)
        #expect(normalized.query == query)
    }

    /// Everything after `#` is the fragment, a `?` in it included.
    @Test func aQuestionMarkInsideTheFragmentStartsNoQuery() throws {
        let normalized = try PathNormalizer.normalize("/a#frag?admin=1")
        #expect(normalized.path == "/a")
        #expect(normalized.query == nil)
    }

    // MARK: absolute form

    @Test(arguments: [
        ("http://h/a?b", "/a", "b"), ("http://h", "/", nil), ("http://h/", "/", nil), ("HTTP://h:8080/x/../y", "/y", nil),
        ("https://h/a", "/a", nil), ("http://h?x=1", "/", "x=1"), ("http://user@h/a/", "/a/", nil),
        ("http://h/%7Ea", "/~a", nil),
    ] as [(String, String, String?)])
    func theAbsoluteFormKeepsOnlyPathAndQuery(target: String, path: String, query: String?) throws {
        let normalized = try PathNormalizer.normalize(target)
        #expect(normalized.path == path)
        #expect(normalized.query == query)
    }

    // MARK: an attacker's paths

    /// Paths that normalize: what routing, the policy and the upstream all see.
    @Test(arguments: [
        // `..;` is not a dot segment (RFC 3986): it stays a literal segment under /api.
        ("/api/..;/admin", "/api/..;/admin"),
        ("/api/..;jsessionid=x/admin", "/api/..;jsessionid=x/admin"),
        // An encoded `..` is resolved here, so the route is chosen for /admin, not /api.
        ("/api/%2e%2e/admin", "/admin"),
        ("/api/%2E%2E/admin", "/admin"),
        ("/api/devices/%2e%2e", "/api/"),
        ("/./api", "/api"),
        ("///api", "/api"),
        ("/api/./././devices", "/api/devices"),
        // Decoded once only: `%25` stays `%25`, so `%252e%252e` is no dot segment upstream either.
        ("/api/%252e%252e/admin", "/api/%252e%252e/admin"),
        // Overlong UTF-8 dots stay escaped.
        ("/api/%c0%ae%c0%ae/admin", "/api/%C0%AE%C0%AE/admin"),
        ("/api/.../admin", "/api/.../admin"),
        ("/api/%2e%2e%2e/admin", "/api/.../admin"),
    ] as [(String, String)])
    func attackPathsThatNormalize(target: String, expected: String) throws {
        #expect(try path(target) == expected)
    }

    /// Paths that must be refused: a hidden `/` or `\`, a NUL, a climb above the root, raw bytes.
    @Test(arguments: [
        ("/api/devices/..%2f..", PathNormalizer.Failure.encodedSlash),
        ("/api/%2e%2e%2fadmin", .encodedSlash),
        ("/api/..%2Fadmin", .encodedSlash),
        ("/api%2f../admin", .encodedSlash),
        ("/api/..%5c..%5cadmin", .encodedSlash),
        ("/api/..%00/admin", .encodedSlash),
        ("/api/%00/admin", .encodedSlash),
        ("/api/.%2E/.%2e/x", .escapesRoot),
        ("/api/devices/%2e%2e/%2e%2e/%2e%2e/etc/passwd", .escapesRoot),
        ("/api/..\\admin", .invalidCharacter(0x5C)),
        ("/api/ ../admin", .invalidCharacter(0x20)),
        ("/api/%%32%66", .invalidEscape),
        ("/api/%u002f", .invalidEscape),
    ] as [(String, PathNormalizer.Failure)])
    func attackPathsThatAreRefused(target: String, failure: PathNormalizer.Failure) {
        #expect(throws: failure) { try PathNormalizer.normalize(target) }
    }

    /// Whatever an attacker sends, an accepted path is rooted, has no dot segment, no empty
    /// segment and no encoded separator.
    @Test(arguments: [
        "/api/..;/admin", "/api/%2e%2e/admin", "/./api", "/api/devices/..%2f..", "/a/%2e%2e/%2e/b/", "/%2e%2e/",
        "/a/..%2F", "/a/%2E./b//c/.%2E/d", "/a/%252F/b", "/a/%5C%2e%2e", "/..a/b../.a./a.", "http://h/a/..%2f",
        "/a/%2e%2e/%2e%2e", "/a/b/c/%2e%2e/%2e%2e/%2e%2e/%2e%2e",
    ])
    func anAcceptedPathNeverEscapesOrHidesASlash(target: String) {
        guard let normalized = try? PathNormalizer.normalize(target) else { return }
        #expect(normalized.path.hasPrefix("/"))
        #expect(!normalized.path.contains("//"))
        #expect(!normalized.segments.contains { $0 == "." || $0 == ".." || $0.isEmpty })
        let upper = normalized.path.uppercased()
        #expect(!upper.contains("%2F") && !upper.contains("%5C") && !upper.contains("%00"))
    }
}
