import Foundation
import Testing
@testable import GatewayConfig

/// `policy.git` and `decision_log` (docs/POLICY_SYNC.md, docs/DECISION_LOGS.md).
@Suite struct PolicySourceAndDecisionLogTests {
    static let issuer = """
        issuers:
          - issuer: http://127.0.0.1:8180/realms/r
            audiences: [portcullis]

        """
    static let route = """
        routes:
          - id: r
            match: {path_prefix: /r}
            upstream: {urls: [http://127.0.0.1:9101]}

        """

    @Test func aGitSourceIsReadWithItsDefaults() throws {
        let config = try parse(Self.issuer + """
            policy:
              git:
                url: https://git.example/org/policies.git
            """ + "\n" + Self.route)
        let git = try #require(config.policy.git)
        #expect(git.url == "https://git.example/org/policies.git")
        #expect(git.branch == "main" && git.path == "" && git.pollInterval == 30 && git.timeout == 60)
        #expect(git.requireTestsPass)
        #expect(git.webhookSecret == nil)
        #expect(git.cacheDirectory == "/etc/portcullis/.policy-cache")
        #expect(config.policy.directory == nil)
    }

    @Test func everyGitKeyIsRead() throws {
        let config = try parse(Self.issuer + """
            policy:
              git:
                url: git@github.com:org/policies.git
                branch: release/v2
                path: bundles/authz/
                poll_interval: 2m
                webhook_secret_env: HOOK
                cache_dir: /var/cache/portcullis
                require_tests_pass: false
                timeout: 15s
            """ + "\n" + Self.route, environment: ["HOOK": "0123456789abcdef-secret"])
        let git = try #require(config.policy.git)
        #expect(git.branch == "release/v2" && git.path == "bundles/authz" && git.pollInterval == 120 && git.timeout == 15)
        #expect(git.webhookSecret == "0123456789abcdef-secret")
        #expect(git.cacheDirectory == "/var/cache/portcullis")
        #expect(!git.requireTestsPass)
    }

    @Test func theWebhookSecretCanComeFromAFile() throws {
        let dir = NSTemporaryDirectory() + "cfg-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "a-webhook-secret-of-some-length\n".write(toFile: dir + "/hook.secret", atomically: true, encoding: .utf8)
        let config = try parse(Self.issuer + """
            policy:
              git: {url: "file:///srv/policies", webhook_secret_file: hook.secret}
            """ + "\n" + Self.route, source: dir + "/routes.yaml")
        #expect(config.policy.git?.webhookSecret == "a-webhook-secret-of-some-length")
    }

    @Test func aGitSourceSatisfiesRoutesThatEvaluateAPolicy() {
        let yaml = Self.issuer + "policy:\n  git: {url: https://git.example/p.git}\n" + Self.route
        #expect(problems(yaml).isEmpty)
    }

    static let gitCases: [ErrorCase] = [
        ErrorCase("directory and git together", file: """
            policy:
              directory: p
              git: {url: https://git.example/p.git}
            routes: []
            """, [Expected(3, 8, "set either policy.directory or policy.git, not both"), Expected(4, 9, "at least one route")]),
        ErrorCase("git without url", file: """
            policy:
              git: {branch: main}
            routes: []
            """, [Expected(2, 8, "policy.git needs 'url'"), Expected(3, 9, "at least one route")]),
        ErrorCase("an option-like url and a bad branch", file: """
            policy:
              git: {url: --upload-pack=evil, branch: "a..b"}
            routes: []
            """, [Expected(2, 14, "must not start with '-'"), Expected(2, 42, "is not a valid branch name"), Expected(3, 9, "at least one route")]),
        ErrorCase("unknown scheme, escaping path, short poll", file: """
            policy:
              git:
                url: ftp://host/repo
                path: ../outside
                poll_interval: 100ms
            routes: []
            """, [Expected(3, 10, "scheme 'ftp' is not supported"), Expected(4, 11, "must be a directory inside the repository"),
                  Expected(5, 20, "poll_interval: at least 1s"), Expected(6, 9, "at least one route")]),
        ErrorCase("two secret sources, unknown key", file: """
            policy:
              git:
                url: https://git.example/p.git
                webhook_secret: 0123456789abcdefgh
                webhook_secret_env: HOOK
                pol_interval: 5s
            routes: []
            """, [Expected(5, 25, "set only one of webhook_secret, webhook_secret_env, webhook_secret_file"),
                  Expected(6, 5, "unknown key 'pol_interval' in policy.git; did you mean 'poll_interval'?"),
                  Expected(7, 9, "at least one route")]),
        ErrorCase("missing environment variable and short secret", file: """
            policy:
              git: {url: https://git.example/p.git, webhook_secret_env: NOT_SET}
            decision_log:
              mask: []
            routes: []
            """, [Expected(2, 61, "the environment variable NOT_SET is not set"), Expected(5, 9, "at least one route")]),
        ErrorCase("short inline secret", file: """
            policy:
              git: {url: https://git.example/p.git, webhook_secret: short}
            routes: []
            """, [Expected(2, 57, "at least 16 characters"), Expected(3, 9, "at least one route")]),
    ]

    @Test(arguments: gitCases)
    func gitMistakesAreReportedWithTheirPosition(_ c: ErrorCase) {
        expectProblems(problems(c.yaml), c.expected)
    }

    @Test func aDecisionLogIsReadWithEveryKey() throws {
        let config = try parse(Self.issuer + "policy: {directory: p}\n" + """
            decision_log:
              file: {path: logs/decisions.log, max_size: 50MiB, max_files: 3}
              queue_size: 5000
              overflow: block
              batch_size: 100
              flush_interval: 500ms
              ring_size: 200
              mask:
                - {op: erase, path: /input/headers/x-api-key}
                - op: upsert
                  path: /input/token/payload/email
                  value: {redacted: true, n: 1, s: "x\\"y", list: [null, 2.5]}
                - {op: upsert, path: /result/reasons, value: "hidden"}
              http:
                url: https://collector.example/logs
                batch_size: 50
                timeout: 3s
                max_retries: 2
                headers: {Authorization: Bearer abc, X-Tenant: t1}
            """ + "\n" + Self.route)
        let log = try #require(config.decisionLog)
        #expect(log.file == { var f = DecisionLogSpec.File(path: "/etc/portcullis/logs/decisions.log"); f.maxSize = 50 << 20; f.maxFiles = 3; return f }())
        #expect(log.queueSize == 5000 && log.overflow == .block && log.batchSize == 100 && log.flushInterval == 0.5 && log.ringSize == 200)
        #expect(log.masks == [
            .init(operation: .erase, path: "/input/headers/x-api-key"),
            .init(operation: .upsert, path: "/input/token/payload/email", valueJSON: #"{"redacted":true,"n":1,"s":"x\"y","list":[null,2.5]}"#),
            .init(operation: .upsert, path: "/result/reasons", valueJSON: #""hidden""#),
        ])
        let http = try #require(log.http)
        #expect(http.url == "https://collector.example/logs" && http.batchSize == 50 && http.timeout == 3 && http.maxRetries == 2)
        #expect(http.headers == [.init(name: "Authorization", value: "Bearer abc"), .init(name: "X-Tenant", value: "t1")])
    }

    @Test func maskValuesAreQuotedAsJSONStrings() throws {
        // Whatever a mask's string holds comes out as one valid JSON string (the record writer
        // splices it in as it is).
        for text in ["x\"y\\z", "line\nbreak\ttab\u{1}", "a/b", "é ✓", ""] {
            let quoted = ConfigReader.quoteJSON(text)
            let back = try JSONSerialization.jsonObject(with: Data(quoted.utf8), options: .fragmentsAllowed) as? String
            #expect(back == text, "\(quoted)")
        }
        #expect(ConfigReader.quoteJSON("a/b") == #""a/b""#)
    }

    @Test func anEmptyDecisionLogKeepsTheDefaults() throws {
        let config = try parse(Self.issuer + "policy: {directory: p}\ndecision_log: {}\n" + Self.route)
        #expect(config.decisionLog == DecisionLogSpec())
        #expect(try parse(Self.issuer + "policy: {directory: p}\n" + Self.route).decisionLog == nil)
    }

    static let logCases: [ErrorCase] = [
        ErrorCase("bad overflow and sizes", file: """
            decision_log:
              overflow: wait
              queue_size: 0
              file: {path: d.log, max_size: 1KiB}
            routes: []
            """, [Expected(2, 13, "overflow: 'wait' is not one of drop, block"), Expected(3, 15, "queue_size: must be greater than 0"),
                  Expected(4, 33, "max_size: at least 4KiB"), Expected(5, 9, "at least one route")]),
        ErrorCase("mask mistakes", file: """
            decision_log:
              mask:
                - {op: remove, path: /input/a}
                - {op: erase, path: /data/x}
                - {op: erase, path: /input/a, value: 1}
                - {op: upsert, path: /input/b}
                - {op: erase, path: "/input/a~2b"}
                - {path: /input/c}
            routes: []
            """, [Expected(3, 12, "op: 'remove' is not one of erase, upsert (OPA's 'remove' is 'erase' here)"),
                  Expected(4, 25, "must be a JSON pointer below /input or /result"),
                  Expected(5, 42, "an erase mask takes no value"),
                  Expected(6, 7, "an upsert mask needs 'value'"),
                  Expected(7, 25, "'~' must be followed by 0 or 1"),
                  Expected(8, 7, "a mask needs 'op'"),
                  Expected(9, 9, "at least one route")]),
        ErrorCase("http mistakes", file: """
            decision_log:
              http: {url: http://collector.example/logs, headers: {Content-Encoding: x}}
            routes: []
            """, [Expected(2, 15, "plain http is refused except to loopback"), Expected(3, 9, "at least one route")]),
        ErrorCase("batch larger than the queue", file: """
            decision_log: {queue_size: 10, batch_size: 20}
            routes: []
            """, [Expected(1, 44, "batch_size (20) is larger than queue_size (10)"), Expected(2, 9, "at least one route")]),
    ]

    @Test(arguments: logCases)
    func decisionLogMistakesAreReportedWithTheirPosition(_ c: ErrorCase) {
        expectProblems(problems(c.yaml), c.expected)
    }
}
