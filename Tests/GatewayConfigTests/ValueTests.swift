import Testing
@testable import GatewayConfig

@Suite struct ValueTests {
    @Test(arguments: [
        ("250ms", 0.25), ("2s", 2), ("1.5s", 1.5), ("5m", 300), ("1h", 3600), ("1d", 86_400), ("1h30m", 5400),
        ("30", 30), ("0.5", 0.5), (".5", 0.5), ("0", 0), (" 2s ", 2), ("365d", 365 * 86_400),
    ] as [(String, Double)])
    func durations(text: String, seconds: Double) throws {
        #expect(try ValueParsers.duration(text).get() == seconds)
    }

    @Test(arguments: [
        ("", "empty"), ("5x", "unknown duration unit 'x'"), ("-1s", "cannot be negative"), ("s", "expected a duration"),
        ("5", nil), ("1.2.3s", "expected a duration"), ("10 s", "expected a duration"), ("366d", "too long"),
        ("99999999999999999999999999h", "too long"), ("1e3", "unknown duration unit 'e'"), ("5M", "unknown duration unit 'M'"),
    ] as [(String, String?)])
    func badDurations(text: String, message: String?) {
        switch ValueParsers.duration(text) {
        case .success: #expect(message == nil, "'\(text)' should be refused")
        case .failure(let failure): #expect(message.map { failure.message.contains($0) } == true, "\(failure.message)")
        }
    }

    @Test(arguments: [
        ("16384", Int64(16384)), ("512KiB", 512 * 1024), ("10MiB", 10 << 20), ("1GiB", 1 << 30), ("2TiB", 2 << 40),
        ("64KB", 64_000), ("10MB", 10_000_000), ("1GB", 1_000_000_000), ("1TB", 1_000_000_000_000), ("100B", 100),
        ("10 MiB", 10 << 20), ("4kiB", 4096), ("8EiB", 0),
    ] as [(String, Int64)])
    func sizes(text: String, bytes: Int64) throws {
        if bytes == 0 {
            #expect(throws: ValueParsers.Failure.self) { try ValueParsers.size(text).get() }
        } else {
            #expect(try ValueParsers.size(text).get() == bytes)
        }
    }

    @Test(arguments: [
        ("0", "greater than 0"), ("-5", "cannot be negative"), ("1.5MiB", "whole numbers"), ("10 furlongs", "unknown size unit"),
        ("MiB", "expected a size"), ("10Mb", "capital B"), ("4kib", "'b' would be bits"), ("99999999999999999999", "too large"), ("9000000TiB", "too large"), ("", "expected a size"),
    ])
    func badSizes(text: String, message: String) {
        switch ValueParsers.size(text) {
        case .success(let value): Issue.record("'\(text)' gave \(value)")
        case .failure(let failure): #expect(failure.message.contains(message), "\(failure.message)")
        }
    }

    @Test func sizesAndDurationsInAFile() throws {
        let config = try parse("shutdown_grace: 0\nlimits: {max_header_bytes: 8192, max_uri_bytes: 2KiB, max_body_bytes: 5GB}\n"
                               + header + minimalRoute)
        #expect(config.shutdownGrace == 0)
        #expect(config.limits.maxHeaderBytes == 8192)
        #expect(config.limits.maxURIBytes == 2048)
        #expect(config.limits.maxBodyBytes == 5_000_000_000)
    }

    @Test func discardedBodyLimitsMustBePositive() {
        expectProblems(problems("limits: {discard_body_bytes: 0, discard_body_timeout: 0s}\nroutes: []\n"), [
            Expected(1, 30, "discard_body_bytes: size must be greater than 0"),
            Expected(1, 55, "discard_body_timeout: must be greater than 0"),
            Expected(2, 9, "routes: the list must not be empty"),
        ])
    }

    @Test func headerLimitsAreCappedAt1GiB() {
        expectProblems(problems("limits: {max_header_bytes: 2GiB}\nroutes: []\n"), [
            Expected(1, 28, "max_header_bytes: at most 1GiB"),
            Expected(2, 9, "routes: the list must not be empty"),
        ])
    }

    @Test(arguments: [
        ("1_000", 1000), ("+7", 7), ("007", 7),
    ])
    func integers(text: String, value: Int) throws {
        #expect(try parse("workers: \(text)\n" + header + minimalRoute).workers == value)
    }

    @Test(arguments: [
        ("'4'", "a quoted string; remove the quotes"), ("4.0", "expected a whole number"), ("0x10", "expected a whole number"),
        ("99999999999999999999999", "out of range"), ("2000", "2000 is out of range (0...1024)"), ("1_", "expected a whole number"),
    ])
    func badIntegers(text: String, message: String) {
        let found = problems("workers: \(text)\n" + header + minimalRoute)
        #expect(found.count == 1 && found[0].line == 1 && found[0].column == 10 && found[0].message.contains(message), "\(found)")
    }
}
