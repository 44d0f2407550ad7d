/// `policy.git` (docs/POLICY_SYNC.md): the bundle is synced from a Git repository.
public struct GitPolicySpec: Sendable, Equatable {
    /// https://, http://, ssh://, git://, file:// or scp-like `user@host:path`.
    public var url: String
    public var branch: String = "main"
    /// The bundle's directory inside the repository ("" = the root).
    public var path: String = ""
    public var pollInterval: Double = 30
    /// The shared secret of `POST /v1/policy/sync` (`X-Hub-Signature-256`), already read from
    /// `webhook_secret`, the variable named by `webhook_secret_env`, or `webhook_secret_file`.
    /// nil: the webhook is disabled.
    public var webhookSecret: String?
    /// Where the fetched repository and the last good bundle are kept (absolute).
    public var cacheDirectory: String
    public var requireTestsPass: Bool = true
    /// Per git command.
    public var timeout: Double = 60

    public init(url: String, cacheDirectory: String) {
        self.url = url
        self.cacheDirectory = cacheDirectory
    }
}

/// `decision_log` (docs/DECISION_LOGS.md).
public struct DecisionLogSpec: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        /// Absolute.
        public var path: String
        public var maxSize: Int64 = 100 << 20
        public var maxFiles: Int = 5
        public init(path: String) { self.path = path }
    }

    public enum Overflow: String, Sendable, Equatable, CaseIterable {
        case drop
        case block
    }

    public struct Mask: Sendable, Equatable {
        public enum Operation: String, Sendable, Equatable, CaseIterable {
            case erase
            case upsert
        }
        public var operation: Operation
        /// A JSON pointer below `/input` or `/result`.
        public var path: String
        /// `upsert` only: the replacement, as JSON text.
        public var valueJSON: String?
        public init(operation: Operation, path: String, valueJSON: String? = nil) {
            self.operation = operation; self.path = path; self.valueJSON = valueJSON
        }
    }

    public struct HTTP: Sendable, Equatable {
        public var url: String
        public var batchSize: Int = 500
        public var timeout: Double = 10
        public var maxRetries: Int = 5
        /// Extra request headers, in file order.
        public var headers: [Header] = []
        public init(url: String) { self.url = url }
    }

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) { self.name = name; self.value = value }
    }

    public var file: File?
    public var queueSize: Int = 10_000
    public var overflow: Overflow = .drop
    public var batchSize: Int = 256
    public var flushInterval: Double = 0.2
    public var ringSize: Int = 1000
    public var masks: [Mask] = []
    public var http: HTTP?

    public init() {}
}
