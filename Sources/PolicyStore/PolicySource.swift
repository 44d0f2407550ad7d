import Foundation
import RegoLite

/// Where policies come from.
public enum PolicySource: Sendable, Equatable {
    /// A bundle directory, re-read every `pollInterval` seconds (nil: only when asked).
    case directory(path: String, pollInterval: Double?, requireTestsPass: Bool)
    case git(GitSourceConfiguration)

    public var description: String {
        switch self {
        case .directory(let path, _, _): return "dir \(path)"
        case .git(let c): return "git \(c.url)#\(c.branch)" + (c.path.isEmpty ? "" : ":\(c.path)")
        }
    }
}

/// What one sync did.
public struct SyncOutcome: Sendable, Equatable {
    public enum Result: String, Sendable, CaseIterable {
        /// A new revision was loaded, compiled, tested and is now in force.
        case activated
        /// The source's revision is the one in force.
        case unchanged
        /// The new revision failed to load, compile or pass its tests: the previous one serves.
        case refused
        /// The source's revision is the one refused before: not loaded again.
        case skippedRefused = "skipped_refused"
        /// The source could not be read (Git unreachable, timeout...): the previous one serves.
        case fetchFailed = "fetch_failed"
    }

    public var result: Result
    /// The revision looked at (commit SHA or content digest), when known.
    public var revision: String?
    public var error: String?
    public var seconds: Double
}

/// The syncer's state for `/v1/status` and the CLI.
public struct PolicySyncStatus: Sendable, Equatable {
    public var source: String
    /// The revision in force (nil: none yet).
    public var revision: String?
    public var activatedAt: Date?
    public var lastAttemptAt: Date?
    public var lastError: String?
    public var lastErrorAt: Date?
    /// The last revision refused (it is not loaded again until the source moves on).
    public var lastRefusedCommit: String?
    /// The revision in force came from the cache at start, not from the source.
    public var restoredFromCache: Bool = false
    /// Syncs by `SyncOutcome.Result` raw value.
    public var counts: [String: Int] = [:]
}

extension PolicySyncStatus {
    /// For `/v1/status` (`policy.sync`): RFC 3339 times, null when unknown.
    public var json: Value {
        func time(_ date: Date?) -> Value {
            date.map { .string(ISO8601DateFormatter.withFractionalSeconds.string(from: $0)) } ?? .null
        }
        func s(_ text: String?) -> Value { text.map(Value.string) ?? .null }
        return .object(RegoObject(pairs: [
            (.string("source"), .string(source)),
            (.string("revision"), s(revision)),
            (.string("activated_at"), time(activatedAt)),
            (.string("restored_from_cache"), .bool(restoredFromCache)),
            (.string("last_attempt_at"), time(lastAttemptAt)),
            (.string("last_error"), s(lastError)),
            (.string("last_error_at"), time(lastErrorAt)),
            (.string("last_refused_commit"), s(lastRefusedCommit)),
            (.string("counts"), .object(RegoObject(pairs: counts.map { (.string($0.key), .int($0.value)) }))),
        ]))
    }
}

extension SyncOutcome {
    /// The answer of `POST /v1/policy/sync`: `{"result", "revision", "error", "seconds"}`.
    public var json: Value {
        .object(RegoObject(pairs: [
            (.string("result"), .string(result.rawValue)),
            (.string("revision"), revision.map(Value.string) ?? .null),
            (.string("error"), error.map(Value.string) ?? .null),
            (.string("seconds"), Number(double: seconds).map(Value.number) ?? .null),
        ]))
    }
}

extension ISO8601DateFormatter {
    static var withFractionalSeconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
