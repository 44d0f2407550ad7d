import CoreMetrics
import Foundation
import RegoLite
import Synchronization

/// Keeps `CurrentPolicy` up to date with a source (DESIGN.md, "Policy distribution"): fetches,
/// loads, compiles, tests, and only then swaps the new snapshot in. A revision that fails any
/// step is refused and recorded (status, metrics, `observer`), the last good one keeps serving,
/// and the same revision is not tried again until the source moves on.
///
/// Syncs run one at a time on a private serial queue (git runs block a thread, never the
/// cooperative pool): `run()` polls, `triggerSync()` (the webhook) asks for one now and returns
/// its outcome. Shaped for swift-service-lifecycle (`run() async throws`, returns on
/// cancellation); the gateway adds `extension PolicySyncer: Service {}`.
public final class PolicySyncer: Sendable {
    public let source: PolicySource
    public let policy: CurrentPolicy
    private let queries: @Sendable () -> [String]
    private let observer: @Sendable (SyncOutcome) -> Void
    private let syncQueue = DispatchQueue(label: "portcullis.policy-sync")
    private let state: Mutex<PolicySyncStatus>
    private let metrics: SyncMetrics?

    /// `queries`: every query routes evaluate (prepared with each revision). `metrics`: the
    /// gateway's factory for `portcullis_policy_activations_total{result}`,
    /// `portcullis_policy_revision_info{revision}` and
    /// `portcullis_policy_last_success_timestamp_seconds`. `observer`: every outcome (to log).
    public init(source: PolicySource, policy: CurrentPolicy, queries: @escaping @Sendable () -> [String],
                metrics: (any MetricsFactory)? = nil, observer: @escaping @Sendable (SyncOutcome) -> Void = { _ in }) {
        self.source = source
        self.policy = policy
        self.queries = queries
        self.observer = observer
        self.metrics = metrics.map(SyncMetrics.init)
        state = Mutex(PolicySyncStatus(source: source.description))
    }

    public var status: PolicySyncStatus { state.withLock { $0 } }

    // MARK: running

    /// Restores the persisted bundle when nothing is in force, then syncs every poll interval
    /// until cancelled.
    public func run() async throws {
        if policy.snapshot == nil { _ = restorePersisted() }
        while !Task.isCancelled {
            _ = await triggerSync()
            guard let interval = pollInterval else {
                // Nothing to poll: stay until cancelled (a service that returns stops the group).
                while !Task.isCancelled { try? await Task.sleep(nanoseconds: 3_600_000_000_000) }
                return
            }
            do { try await Task.sleep(nanoseconds: UInt64(interval * 1e9)) } catch { return }
        }
    }

    var pollInterval: Double? {
        switch source {
        case .directory(_, let interval, _): return interval
        case .git(let c): return c.pollInterval
        }
    }

    /// One sync now (after any running one); returns when it finished.
    public func triggerSync() async -> SyncOutcome {
        await withCheckedContinuation { continuation in
            syncQueue.async { continuation.resume(returning: self.performSync()) }
        }
    }

    /// One sync now, blocking the calling thread (CLI, tests).
    public func syncNow() -> SyncOutcome {
        syncQueue.sync { performSync() }
    }

    /// Installs the last good Git bundle from the cache when it belongs to this source; true
    /// when one was installed. The gateway calls it at start so that a restart while the Git
    /// server is down serves the last good revision at once.
    @discardableResult
    public func restorePersisted() -> Bool {
        syncQueue.sync {
            guard case .git(let config) = source else { return false }
            let cache = BundleCache(directory: config.cacheDirectory)
            guard let manifest = cache.readManifest(), manifest.url == config.url, manifest.branch == config.branch,
                  manifest.path == config.path else { return false }
            do {
                let bundle = try PolicyBundle.load(paths: [cache.bundleDirectory(manifest.commit)]).prefixingPaths(config.path)
                let snapshot = try PolicySnapshot.make(bundle: bundle, queries: queries(), revision: manifest.commit,
                                                       source: source.description)
                install(snapshot, restored: true)
                return true
            } catch {
                state.withLock { $0.lastError = "cached bundle \(manifest.commit): \(error)"; $0.lastErrorAt = Date() }
                return false
            }
        }
    }

    /// Prepares the queries `queries()` now names on the revision in force (after a
    /// configuration reload added routes); the policy is not compiled again.
    public func prepareQueries() throws {
        try syncQueue.sync {
            guard let current = policy.snapshot else { return }
            policy.install(try current.preparing(queries()))
        }
    }

    // MARK: one sync

    private func performSync() -> SyncOutcome {
        let started = DispatchTime.now().uptimeNanoseconds
        let now = Date()
        state.withLock { $0.lastAttemptAt = now }
        var outcome: SyncOutcome
        switch source {
        case .directory(let path, _, let requireTests):
            outcome = syncDirectory(path, requireTests: requireTests)
        case .git(let config):
            outcome = syncGit(config)
        }
        outcome.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        record(outcome, at: now)
        observer(outcome)
        return outcome
    }

    private func syncDirectory(_ path: String, requireTests: Bool) -> SyncOutcome {
        let bundle: PolicyBundle
        do { bundle = try PolicyBundle.load(paths: [path]) } catch {
            return SyncOutcome(result: .fetchFailed, revision: nil, error: "\(error)", seconds: 0)
        }
        let revision = bundle.contentDigest
        if revision == policy.snapshot?.revision { return SyncOutcome(result: .unchanged, revision: revision, seconds: 0) }
        if revision == status.lastRefusedCommit { return SyncOutcome(result: .skippedRefused, revision: revision, seconds: 0) }
        return activate(bundle: bundle, revision: revision, requireTests: requireTests, persist: nil)
    }

    private func syncGit(_ config: GitSourceConfiguration) -> SyncOutcome {
        let repository = GitRepository(configuration: config)
        let commit: String
        do { commit = try repository.fetch() } catch {
            return SyncOutcome(result: .fetchFailed, revision: nil, error: "\(error)", seconds: 0)
        }
        if commit == policy.snapshot?.revision { return SyncOutcome(result: .unchanged, revision: commit, seconds: 0) }
        if commit == status.lastRefusedCommit { return SyncOutcome(result: .skippedRefused, revision: commit, seconds: 0) }

        let cache = BundleCache(directory: config.cacheDirectory)
        defer { cache.clearWork() }
        let bundleDirectory: String
        let bundle: PolicyBundle
        do {
            let unsupported = try repository.unsupportedEntries(commit: commit)
            guard unsupported.isEmpty else {
                return refused(commit, "commit \(commit.prefix(12)): not loaded: \(unsupported.joined(separator: ", "))")
            }
            let tree = try cache.makeWorkDirectory()
            try repository.materialize(commit: commit, into: tree + "/tree")
            bundleDirectory = config.path.isEmpty ? tree + "/tree" : tree + "/tree/" + config.path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: bundleDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
                return refused(commit, "commit \(commit.prefix(12)): no directory '\(config.path)' in the repository")
            }
        } catch {
            return SyncOutcome(result: .fetchFailed, revision: commit, error: "\(error)", seconds: 0)
        }
        do { bundle = try PolicyBundle.load(paths: [bundleDirectory]).prefixingPaths(config.path) } catch {
            return refused(commit, "\(error)")
        }
        let manifest = BundleCache.Manifest(commit: commit, url: config.url, branch: config.branch, path: config.path, activatedAt: Date())
        var outcome = activate(bundle: bundle, revision: commit, requireTests: config.requireTestsPass) {
            try cache.persist(bundle: bundleDirectory, manifest: manifest)
        }
        let activations = (status.counts[SyncOutcome.Result.activated.rawValue] ?? 0) + 1
        if outcome.result == .activated, config.gcEveryActivations > 0, activations % config.gcEveryActivations == 0 {
            do { try repository.collectGarbage() } catch {
                outcome.error = [outcome.error, "git gc of the cache failed: \(error)"].compactMap { $0 }.joined(separator: "; ")
            }
        }
        return outcome
    }

    /// Compile, test, (persist,) install.
    private func activate(bundle: PolicyBundle, revision: String, requireTests: Bool, persist: (() throws -> Void)?) -> SyncOutcome {
        let snapshot: PolicySnapshot
        do {
            snapshot = try PolicySnapshot.make(bundle: bundle, queries: queries(), revision: revision, source: source.description)
        } catch {
            return refused(revision, "\(error)")
        }
        if requireTests, let failure = Self.testFailure(bundle) {
            return refused(revision, failure)
        }
        var note: String?
        if let persist {
            do { try persist() } catch { note = "activated, but the bundle was not saved in the cache: \(error)" }
        }
        install(snapshot, restored: false)
        return SyncOutcome(result: .activated, revision: revision, error: note, seconds: 0)
    }

    /// Runs the bundle's tests; a message naming the failures, nil when all pass (or none exist).
    static func testFailure(_ bundle: PolicyBundle) -> String? {
        let compiled: CompiledPolicy
        do { compiled = try bundle.engine(includeTests: true).compile() } catch {
            return "tests do not compile: \(error)"
        }
        let results = PolicyTestRunner().run(compiled)
        let failed = results.filter { $0.outcome != .pass }
        guard !failed.isEmpty else { return nil }
        let names = failed.prefix(10).map { "\($0.name) (\($0.outcome.rawValue)\($0.message.map { ": \($0)" } ?? ""))" }
        return "\(failed.count) of \(results.count) policy tests failed: " + names.joined(separator: ", ")
            + (failed.count > 10 ? ", ..." : "")
    }

    private func refused(_ revision: String, _ message: String) -> SyncOutcome {
        SyncOutcome(result: .refused, revision: revision, error: message, seconds: 0)
    }

    private func install(_ snapshot: PolicySnapshot, restored: Bool) {
        let previous = policy.snapshot?.revision
        policy.install(snapshot)
        state.withLock {
            $0.revision = snapshot.revision
            $0.activatedAt = snapshot.loadedAt
            $0.restoredFromCache = restored
        }
        metrics?.revisionChanged(from: previous, to: snapshot.revision)
    }

    private func record(_ outcome: SyncOutcome, at date: Date) {
        state.withLock { s in
            s.counts[outcome.result.rawValue, default: 0] += 1
            switch outcome.result {
            case .refused:
                s.lastRefusedCommit = outcome.revision
                s.lastError = outcome.error
                s.lastErrorAt = date
            case .fetchFailed:
                s.lastError = outcome.error
                s.lastErrorAt = date
            case .activated:
                if let note = outcome.error { s.lastError = note; s.lastErrorAt = date }
            case .unchanged, .skippedRefused:
                break
            }
        }
        if outcome.result == .refused || outcome.result == .fetchFailed {
            policy.recordFailure(outcome.error ?? outcome.result.rawValue, at: date)
        }
        metrics?.record(outcome.result, at: date)
    }
}

extension PolicyBundle {
    /// Module and data paths as the repository names them (`policies/authz.rego`), so errors
    /// point into the repository.
    func prefixingPaths(_ prefix: String) -> PolicyBundle {
        guard !prefix.isEmpty else { return self }
        let base = prefix.hasSuffix("/") ? prefix : prefix + "/"
        var copy = self
        copy.replace(modules: modules.map { Module(path: base + $0.path, source: $0.source) },
                     data: data.map { DataDocument(path: base + $0.path, prefix: $0.prefix, value: $0.value) })
        return copy
    }
}
