import Foundation

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
