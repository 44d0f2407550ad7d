import Atomics
import Foundation
import RegoLite

/// One loaded, compiled policy revision with its queries prepared: immutable, shared by every
/// request that reads it, replaced whole (never edited) when a new revision arrives.
public final class PolicySnapshot: AtomicReference, Sendable {
    /// Identifies the content: a digest of every module and data document (a Git commit later).
    public let revision: String
    public let loadedAt: Date
    /// Where it was loaded from (a directory).
    public let source: String
    public let policy: CompiledPolicy
    public let moduleCount: Int
    private let queries: [String: PreparedQuery]

    init(revision: String, loadedAt: Date, source: String, policy: CompiledPolicy, moduleCount: Int, queries: [String: PreparedQuery]) {
        self.revision = revision
        self.loadedAt = loadedAt
        self.source = source
        self.policy = policy
        self.moduleCount = moduleCount
        self.queries = queries
    }

    /// The prepared query for `text` (one of those named at load time).
    public func query(_ text: String) -> PreparedQuery? { queries[text] }

    /// Loads a bundle directory (tests excluded), compiles it and prepares `queries`. Throws with
    /// the file and line of the first problem; nothing is kept from a failed load.
    public static func load(directory: String, queries: [String], now: Date = Date()) throws -> PolicySnapshot {
        try make(bundle: try PolicyBundle.load(paths: [directory]), queries: queries, revision: nil, source: directory, now: now)
    }

    /// Compiles a loaded bundle (tests excluded) and prepares `queries`. `revision` nil: the
    /// bundle's content digest (a Git source passes the commit SHA).
    public static func make(bundle: PolicyBundle, queries: [String], revision: String?, source: String,
                            now: Date = Date()) throws -> PolicySnapshot {
        let enforced = bundle.modules.filter { !$0.isTest }
        guard !enforced.isEmpty else {
            throw PolicyBundle.LoadError(description: "\(source): no policy modules (*.rego other than *_test.rego)")
        }
        let compiled: CompiledPolicy
        do {
            compiled = try bundle.engine(includeTests: false).compile()
        } catch let error as RegoError {
            throw PolicyBundle.LoadError(description: error.description)
        } catch let error as RegoErrors {
            throw PolicyBundle.LoadError(description: error.description)
        }
        return PolicySnapshot(revision: revision ?? bundle.contentDigest, loadedAt: now, source: source, policy: compiled,
                              moduleCount: enforced.count, queries: try prepare(Set(queries), compiled))
    }

    /// The same revision with `queries` prepared (a configuration reload may add routes with
    /// new queries; the policy is not compiled again).
    public func preparing(_ queries: [String]) throws -> PolicySnapshot {
        var all = self.queries
        for (text, query) in try Self.prepare(Set(queries).subtracting(all.keys), policy) { all[text] = query }
        return PolicySnapshot(revision: revision, loadedAt: loadedAt, source: source, policy: policy, moduleCount: moduleCount, queries: all)
    }

    /// Every prepared query's text.
    public var queryTexts: [String] { queries.keys.sorted() }

    private static func prepare(_ texts: Set<String>, _ policy: CompiledPolicy) throws -> [String: PreparedQuery] {
        var prepared: [String: PreparedQuery] = [:]
        for text in texts {
            do { prepared[text] = try PreparedQuery(policy: policy, query: text) } catch let error as RegoError {
                throw PolicyBundle.LoadError(description: "query \(text): \(error.message)")
            }
        }
        return prepared
    }
}

extension PolicyBundle {
    /// A 64-bit FNV-1a digest over every module and data document (path and content), as hex:
    /// equal content gives an equal revision, whatever the load order.
    public var contentDigest: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ text: String) {
            for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            hash = (hash ^ 0xff) &* 0x0000_0100_0000_01b3
        }
        for module in modules.filter({ !$0.isTest }).sorted(by: { $0.path < $1.path }) { mix(module.path); mix(module.source) }
        for document in data.sorted(by: { $0.path < $1.path }) { mix(document.path); mix(document.value.description) }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// The policy revision in force: read lock-free on every request, swapped atomically by loads.
public final class CurrentPolicy: Sendable {
    public struct Status: Sendable {
        public var revision: String?
        public var loadedAt: Date?
        public var lastError: String?
        public var lastErrorAt: Date?
        public var loads: Int
        public var failures: Int
    }

    private let current = ManagedAtomic<PolicySnapshot?>(nil)
    private let statusBox = StatusBox()

    public init() {}

    /// The snapshot in force, or nil before the first successful load.
    @inline(__always) public var snapshot: PolicySnapshot? { current.load(ordering: .acquiring) }

    public func install(_ snapshot: PolicySnapshot) {
        current.store(snapshot, ordering: .releasing)
        statusBox.update { $0.revision = snapshot.revision; $0.loadedAt = snapshot.loadedAt; $0.loads += 1 }
    }

    /// Records a refused revision; the snapshot in force keeps serving.
    public func recordFailure(_ message: String, at date: Date = Date()) {
        statusBox.update { $0.lastError = message; $0.lastErrorAt = date; $0.failures += 1 }
    }

    public var status: Status { statusBox.value }
}

private final class StatusBox: @unchecked Sendable {
    private let lock = NSLock()
    private var status = CurrentPolicy.Status(revision: nil, loadedAt: nil, lastError: nil, lastErrorAt: nil, loads: 0, failures: 0)
    var value: CurrentPolicy.Status { lock.lock(); defer { lock.unlock() }; return status }
    func update(_ body: (inout CurrentPolicy.Status) -> Void) { lock.lock(); body(&status); lock.unlock() }
}
