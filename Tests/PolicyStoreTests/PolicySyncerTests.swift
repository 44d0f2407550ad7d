import Foundation
import MetricsTestKit
import RegoLite
import Testing
@testable import PolicyStore

/// The Git source end to end against real repositories (git on PATH, `file://` URLs).
@Suite(.serialized) struct PolicySyncerTests {
    static let query = "data.authz.allow"

    static func syncer(_ fixture: GitFixture, _ config: GitSourceConfiguration? = nil, policy: CurrentPolicy = CurrentPolicy(),
                       metrics: TestMetrics? = nil) -> PolicySyncer {
        PolicySyncer(source: .git(config ?? fixture.configuration()), policy: policy, queries: { [query] }, metrics: metrics)
    }

    static func allows(_ policy: CurrentPolicy, _ user: String) throws -> Bool? {
        guard let query = policy.snapshot?.query(query) else { return nil }
        return try query.evalValue(input: .object(RegoObject(pairs: [(.string("user"), .string(user))]))) == .true
    }

    @Test func theFirstSyncActivatesAndTheRevisionIsTheCommit() throws {
        let fixture = try GitFixture()
        let sha = try fixture.commit(["policies/authz.rego": GitFixture.allowPolicy, "policies/authz_test.rego": GitFixture.passingTest,
                                      "README.md": "not part of the bundle"])
        let policy = CurrentPolicy()
        let syncer = Self.syncer(fixture, policy: policy)
        let outcome = syncer.syncNow()
        #expect(outcome.result == .activated)
        #expect(outcome.revision == sha)
        #expect(policy.snapshot?.revision == sha)
        #expect(try Self.allows(policy, "alice") == true)
        #expect(syncer.status.revision == sha)
        #expect(syncer.status.activatedAt != nil)
        #expect(syncer.syncNow().result == .unchanged)
        #expect(syncer.status.counts == ["activated": 1, "unchanged": 1])
    }

    @Test func aCommitTurningAllowIntoDenyIsActivated() throws {
        let fixture = try GitFixture()
        try fixture.commit(["policies/authz.rego": GitFixture.allowPolicy])
        let policy = CurrentPolicy()
        let syncer = Self.syncer(fixture, policy: policy)
        #expect(syncer.syncNow().result == .activated)
        #expect(try Self.allows(policy, "alice") == true)
        let second = try fixture.commit(["policies/authz.rego": GitFixture.denyPolicy])
        #expect(syncer.syncNow().result == .activated)
        #expect(policy.snapshot?.revision == second)
        #expect(try Self.allows(policy, "alice") == false)
    }

    @Test func aSyntaxErrorIsRefusedWithFileAndLineWhileTheOldRevisionServes() throws {
        let fixture = try GitFixture()
        let good = try fixture.commit(["policies/authz.rego": GitFixture.allowPolicy])
        let policy = CurrentPolicy()
        let metrics = TestMetrics()
        let syncer = Self.syncer(fixture, policy: policy, metrics: metrics)
        #expect(syncer.syncNow().result == .activated)
        let bad = try fixture.commit(["policies/authz.rego": "package authz\n\nallow if {\n    input.user ==\n"])
        let outcome = syncer.syncNow()
        #expect(outcome.result == .refused)
        #expect(outcome.revision == bad)
        #expect(policy.snapshot?.revision == good)
        #expect(try Self.allows(policy, "alice") == true)
        let error = try #require(syncer.status.lastError)
        #expect(error.contains("policies/authz.rego:"), "file:line in \(error)")
        #expect(error.range(of: #"authz\.rego:\d+:\d+: rego_parse_error"#, options: .regularExpression) != nil, "\(error)")
        #expect(syncer.status.lastRefusedCommit == bad)
        #expect(policy.status.failures == 1)
        #expect(try metrics.expectCounter("portcullis_policy_activations_total", [("result", "refused")]).totalValue == 1)
        #expect(try metrics.expectCounter("portcullis_policy_activations_total", [("result", "activated")]).totalValue == 1)
        #expect(try metrics.expectGauge("portcullis_policy_revision_info", [("revision", good)]).lastValue == 1)
        #expect(try metrics.expectGauge("portcullis_policy_last_success_timestamp_seconds").lastValue ?? 0 > 0)
    }

    @Test func aCommitWhoseTestsFailIsRefused() throws {
        let fixture = try GitFixture()
        let good = try fixture.commit(["policies/authz.rego": GitFixture.allowPolicy, "policies/authz_test.rego": GitFixture.passingTest])
        let policy = CurrentPolicy()
        let syncer = Self.syncer(fixture, policy: policy)
        #expect(syncer.syncNow().result == .activated)
        // Compiles fine, but the test expecting alice to be allowed now fails.
        try fixture.commit(["policies/authz.rego": GitFixture.denyPolicy])
        let outcome = syncer.syncNow()
        #expect(outcome.result == .refused)
        #expect(outcome.error?.contains("data.authz_test.test_alice_allowed") == true)
        #expect(policy.snapshot?.revision == good)
    }

    @Test func failingTestsAreAcceptedWhenTestsAreNotRequired() throws {
        let fixture = try GitFixture()
        try fixture.commit(["policies/authz.rego": GitFixture.denyPolicy, "policies/authz_test.rego": GitFixture.passingTest])
        let syncer = Self.syncer(fixture, fixture.configuration(requireTests: false))
        #expect(syncer.syncNow().result == .activated)
    }

    @Test func theSameBadCommitIsNotLoadedAgainButANewerGoodOneIs() throws {
        let fixture = try GitFixture()
        try fixture.commit(["policies/authz.rego": GitFixture.allowPolicy])
        let policy = CurrentPolicy()
        let syncer = Self.syncer(fixture, policy: policy)
        #expect(syncer.syncNow().result == .activated)
        try fixture.commit(["policies/authz.rego": "package authz\nallow if {"])
        #expect(syncer.syncNow().result == .refused)
        #expect(syncer.syncNow().result == .skippedRefused)
        #expect(syncer.syncNow().result == .skippedRefused)
        #expect(syncer.status.counts["refused"] == 1, "compiled once")
        let fixed = try fixture.commit(["policies/authz.rego": GitFixture.denyPolicy])
        #expect(syncer.syncNow().result == .activated)
        #expect(policy.snapshot?.revision == fixed)
    }

    @Test func aRestartWithTheRepositoryUnreachableServesThePersistedBundle() throws {
        let fixture = try GitFixture()
        let sha = try fixture.commit(["policies/authz.rego": GitFixture.allowPolicy, "policies/data.json": #"{"x": 1}"#])
        #expect(Self.syncer(fixture).syncNow().result == .activated)
        #expect(FileManager.default.fileExists(atPath: fixture.cache + "/last-good.json"))

        // A new process: same cache, and the Git server is gone.
        try FileManager.default.removeItem(atPath: fixture.repository)
        let policy = CurrentPolicy()
        let restarted = Self.syncer(fixture, policy: policy)
        #expect(restarted.restorePersisted())
        #expect(policy.snapshot?.revision == sha)
        #expect(try Self.allows(policy, "alice") == true)
        #expect(restarted.status.restoredFromCache)
        let outcome = restarted.syncNow()
        #expect(outcome.result == .fetchFailed)
        #expect(policy.snapshot?.revision == sha)
        #expect(restarted.status.lastError != nil)
    }

    @Test func aPersistedBundleOfAnotherSourceIsNotServed() throws {
        let fixture = try GitFixture()
        try fixture.commit(["policies/authz.rego": GitFixture.allowPolicy])
        #expect(Self.syncer(fixture).syncNow().result == .activated)
        var other = fixture.configuration()
        other.branch = "release"
        let policy = CurrentPolicy()
        #expect(!Self.syncer(fixture, other, policy: policy).restorePersisted())
        #expect(policy.snapshot == nil)
    }

    @Test func withNothingEverActivatedNothingIsServed() throws {
        let fixture = try GitFixture()
        let policy = CurrentPolicy()
        let syncer = Self.syncer(fixture, fixture.configuration(url: "file:///nonexistent/\(UUID().uuidString)"), policy: policy)
        #expect(!syncer.restorePersisted())
        #expect(syncer.syncNow().result == .fetchFailed)
        #expect(policy.snapshot == nil)
    }

    @Test func symbolicLinksInTheBundleAreRefused() throws {
        let fixture = try GitFixture()
        try fixture.commit(["policies/authz.rego": GitFixture.allowPolicy])
        try FileManager.default.createSymbolicLink(atPath: fixture.repository + "/policies/data.json", withDestinationPath: "/etc/hostname")
        try fixture.git("add", "--all")
        try fixture.git("commit", "--quiet", "-m", "link")
        let outcome = Self.syncer(fixture).syncNow()
        #expect(outcome.result == .refused)
        #expect(outcome.error?.contains("policies/data.json (symbolic link)") == true)
    }

    @Test func aMissingBundlePathIsRefused() throws {
        let fixture = try GitFixture()
        try fixture.commit(["elsewhere/authz.rego": GitFixture.allowPolicy])
        let outcome = Self.syncer(fixture).syncNow()
        #expect(outcome.result == .refused)
        #expect(outcome.error?.contains("no directory 'policies'") == true)
    }

    @Test func theCacheRepositoryIsGarbageCollectedAndKeepsWorking() throws {
        let fixture = try GitFixture()
        var config = fixture.configuration()
        config.gcEveryActivations = 1
        let policy = CurrentPolicy()
        let syncer = Self.syncer(fixture, config, policy: policy)
        for i in 0..<3 {
            let sha = try fixture.commit(["policies/authz.rego": GitFixture.allowPolicy + "\n# \(i)\n"])
            let outcome = syncer.syncNow()
            #expect(outcome.result == .activated && outcome.error == nil, "\(outcome)")
            #expect(policy.snapshot?.revision == sha)
        }
        #expect(syncer.syncNow().result == .unchanged)
    }

    @Test func runPollsAndPicksUpNewCommits() async throws {
        let fixture = try GitFixture()
        try fixture.commit(["policies/authz.rego": GitFixture.allowPolicy])
        let policy = CurrentPolicy()
        let syncer = Self.syncer(fixture, policy: policy)
        let task = Task { try await syncer.run() }
        defer { task.cancel() }
        let second = try fixture.commit(["policies/authz.rego": GitFixture.denyPolicy])
        var waited = 0.0
        while policy.snapshot?.revision != second, waited < 20 {
            try await Task.sleep(nanoseconds: 50_000_000)
            waited += 0.05
        }
        #expect(policy.snapshot?.revision == second)
        task.cancel()
        _ = await task.result
    }

    @Test func triggerSyncReturnsTheOutcome() async throws {
        let fixture = try GitFixture()
        let sha = try fixture.commit(["policies/authz.rego": GitFixture.allowPolicy])
        let outcome = await Self.syncer(fixture).triggerSync()
        #expect(outcome.result == .activated && outcome.revision == sha)
    }

    @Test func statusAndOutcomeHaveAJSONForm() throws {
        let fixture = try GitFixture()
        let sha = try fixture.commit(["policies/authz.rego": GitFixture.allowPolicy])
        let syncer = Self.syncer(fixture)
        let outcome = syncer.syncNow()
        #expect(outcome.json["result"] == .string("activated") && outcome.json["revision"] == .string(sha))
        let status = syncer.status.json
        #expect(status["revision"] == .string(sha))
        #expect(status["counts"] == .object(RegoObject(pairs: [(.string("activated"), .int(1))])))
        #expect(status["last_refused_commit"] == .null)
        #expect(status["activated_at"]?.stringValue?.hasSuffix("Z") == true)
    }

    @Test func aDirectorySourceActivatesWithItsContentDigest() throws {
        let fixture = try GitFixture()
        try fixture.commit(["policies/authz.rego": GitFixture.allowPolicy])
        let policy = CurrentPolicy()
        let syncer = PolicySyncer(source: .directory(path: fixture.repository + "/policies", pollInterval: nil, requireTestsPass: true),
                                  policy: policy, queries: { [Self.query] })
        #expect(syncer.syncNow().result == .activated)
        #expect(policy.snapshot?.revision.count == 16)
        #expect(syncer.syncNow().result == .unchanged)
    }
}

@Suite struct ProcessRunnerTests {
    @Test func aTimeoutKillsTheWholeProcessGroup() throws {
        let marker = NSTemporaryDirectory() + "runner-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: marker) }
        // The child starts a grandchild that would write the marker after 2 s.
        let script = "(sleep 2; touch \(marker)) & sleep 30"
        let started = Date()
        #expect(throws: ProcessRunner.Failure.self) {
            try ProcessRunner(timeout: 0.3).run("/bin/sh", ["-c", script])
        }
        #expect(Date().timeIntervalSince(started) < 5)
        Thread.sleep(forTimeInterval: 2.5)
        #expect(!FileManager.default.fileExists(atPath: marker), "the grandchild was killed with its group")
    }

    @Test func outputAndStatusAreReturned() throws {
        let output = try ProcessRunner(timeout: 10).run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"])
        #expect(output.status == 3)
        #expect(output.stdout == "out\n")
        #expect(output.stderr == "err\n")
    }

    @Test func argumentsAreNeverInterpretedByAShell() throws {
        let output = try ProcessRunner(timeout: 10).run("printf", ["%s", "$(id); `id` | ; && *"])
        #expect(output.stdout == "$(id); `id` | ; && *")
    }

    @Test func aGitFetchThatHangsIsKilled() throws {
        let fixture = try GitFixture()
        try fixture.commit(["policies/authz.rego": GitFixture.allowPolicy])
        var config = fixture.configuration()
        // A "git" that hangs like a fetch from an unresponsive server.
        let fakeGit = fixture.root + "/slow-git"
        try "#!/bin/sh\nsleep 30\n".write(toFile: fakeGit, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fakeGit)
        config.gitExecutable = fakeGit
        config.timeout = 0.5
        let started = Date()
        let outcome = PolicySyncer(source: .git(config), policy: CurrentPolicy(), queries: { [] }).syncNow()
        #expect(outcome.result == .fetchFailed)
        #expect(outcome.error?.contains("timed out") == true, "\(outcome.error ?? "no error")")
        #expect(Date().timeIntervalSince(started) < 5)
    }
}
