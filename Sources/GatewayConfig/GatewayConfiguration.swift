/// The gateway's configuration as read from routes.yaml (docs/ROUTES.md), after validation and
/// after the environment switches (`Switches`) were applied. Plain values: the Gateway module maps
/// them onto Identity's and the proxy's types. Every duration is in seconds.
public struct GatewayConfiguration: Sendable, Equatable {
    /// Traffic listener (default 127.0.0.1:8080).
    public var listen: SocketAddressSpec = SocketAddressSpec(host: "127.0.0.1", port: 8080)
    /// Admin listener: health, readiness, status, metrics, reload (default 127.0.0.1:9901).
    public var admin: SocketAddressSpec = SocketAddressSpec(host: "127.0.0.1", port: 9901)
    /// Event loops for traffic; 0 = one per core.
    public var workers: Int = 0
    /// How long in-flight requests may run after SIGTERM/SIGINT before connections are closed.
    public var shutdownGrace: Double = 25
    /// Limits for every route unless the route sets its own.
    public var limits: Limits = Limits()
    public var issuers: [IssuerSpec] = []
    public var policy: PolicySpec = PolicySpec()
    /// Decision records (nil: none are kept).
    public var decisionLog: DecisionLogSpec?
    /// Identity headers for routes that name none (header name → claim path).
    public var identityHeaders: [IdentityHeader] = IdentityHeader.defaults
    /// Trust `X-Forwarded-*` from these peers (exact IPs); others' copies are replaced.
    public var trustedProxies: [String] = []
    public var routes: [Route] = []
    /// Where the file came from (for status and errors).
    public var source: String = ""
    /// The environment switches in force (`AUTH_REQUIRED`, `AUTHZ_REQUIRED`, `OPA_REQUIRED`);
    /// they have already been applied to the routes and `policy.required` above.
    public var switches: SwitchState = SwitchState()

    public init() {}
}

public struct SocketAddressSpec: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) { self.host = host; self.port = port }
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public struct Limits: Sendable, Equatable {
    /// Request line plus all header lines.
    public var maxHeaderBytes: Int = 16 * 1024
    public var maxURIBytes: Int = 8 * 1024
    /// Request body; larger → 413 (streamed bodies are counted as they pass).
    public var maxBodyBytes: Int64 = 10 * 1024 * 1024
    /// A request answered before its body was read (401, 403, 404, 413...) keeps its connection
    /// when at most this much body is left and it arrives within `discardBodyTimeout`; the rest
    /// is read and dropped (nginx's discarded body); beyond either, the connection closes.
    public var discardBodyBytes: Int64 = 64 * 1024
    public var discardBodyTimeout: Double = 1
    public init() {}
}

/// One trusted issuer (Identity's `IssuerConfig`, docs/AUTH_GUIDE.md).
public struct IssuerSpec: Sendable, Equatable {
    public var issuer: String
    public var jwksURI: String?
    public var jwksFile: String?
    /// Accepted audiences; `["*"]` means any audience (must be written explicitly).
    public var audiences: [String]
    public var algorithms: [String]?
    public var leeway: Double?
    public var requireExpiration: Bool = true
    public var maxLifetime: Double?
    public var requiredType: String?
    public var allowInsecureHTTP: Bool = false
    /// Required issuers must have keys for /readyz (default true).
    public var required: Bool = true
    public var cache: CacheSpec = CacheSpec()
    public init(issuer: String, audiences: [String]) { self.issuer = issuer; self.audiences = audiences }

    public struct CacheSpec: Sendable, Equatable {
        public var minTTL: Double?
        public var maxTTL: Double?
        public var defaultTTL: Double?
        public var maxStale: Double?
        public var unknownKidInterval: Double?
        public var fetchTimeout: Double?
        public init() {}
    }
}

public struct PolicySpec: Sendable, Equatable {
    /// Bundle directory (OPA layout); nil = no policy configured (or `git`).
    public var directory: String?
    /// A Git repository holding the bundle (docs/POLICY_SYNC.md); never together with `directory`.
    public var git: GitPolicySpec?
    /// The query routes evaluate unless they name their own.
    public var defaultQuery: String = "data.systemupdate.authz.allow"
    /// No policy loaded → 503 `policy_unavailable` (true) or allow with a warning (false).
    /// `OPA_REQUIRED` overrides it.
    public var required: Bool = true
    /// Evaluation work limit per request (RegoLite steps).
    public var maxSteps: Int = 100_000
    /// Reuse a connection's decisions while nothing the query reads has changed (docs/ROUTES.md).
    public var decisionCache: Bool = true
    public init() {}
}

public struct IdentityHeader: Sendable, Equatable {
    /// Header name as sent upstream (case kept).
    public var name: String
    /// Claim path in the verified token's payload, dot-separated (`sub`, `realm_access.roles`).
    /// Arrays are joined with ","; objects are sent as JSON.
    public var claim: String
    public init(name: String, claim: String) { self.name = name; self.claim = claim }

    public static let defaults: [IdentityHeader] = [
        IdentityHeader(name: "X-Auth-Subject", claim: "sub"),
        IdentityHeader(name: "X-Auth-Issuer", claim: "iss"),
        IdentityHeader(name: "X-Auth-Roles", claim: "realm_access.roles"),
    ]
}

public struct Route: Sendable, Equatable {
    public var id: String
    public var match: Match
    public var upstream: Upstream
    /// Removed from the front of the normalized path before it goes upstream (segment-wise), when
    /// the path starts with it; other paths are forwarded unchanged. Never ends with `/`.
    public var stripPrefix: String?
    public var auth: Auth = Auth()
    public var policy: RoutePolicy = RoutePolicy()
    /// nil: the top-level `identity_headers`.
    public var identityHeaders: [IdentityHeader]?
    public var websocket: WebSocket?
    /// nil fields fall back to the top-level limits.
    public var maxBodyBytes: Int64?
    public var maxHeaderBytes: Int?
    /// Line of the route in the file (status, errors).
    public var line: Int = 0

    public init(id: String, match: Match, upstream: Upstream) { self.id = id; self.match = match; self.upstream = upstream }

    public struct Match: Sendable, Equatable {
        /// Exact host (lower-cased; compared case-insensitively, port ignored) or `*.suffix`;
        /// nil = any host.
        public var host: String?
        /// Alternatives: the route matches when ANY of them matches (never empty; all of one kind,
        /// in file order). `path_prefix: [/devices, /api/devices]` gives two `.prefix` entries.
        public var paths: [PathMatch]
        /// Upper-case method names; empty = any method.
        public var methods: [String] = []
        public init(host: String? = nil, paths: [PathMatch], methods: [String] = []) {
            self.host = host; self.paths = paths; self.methods = methods
        }
        /// One path matcher.
        public init(host: String? = nil, path: PathMatch, methods: [String] = []) {
            self.init(host: host, paths: [path], methods: methods)
        }
    }

    /// Patterns are validated by the loader: they start with `/`, contain no `//`, `.` or `..`
    /// segment, `?`, `#` or `%` (they are compared with the normalized path).
    public enum PathMatch: Sendable, Equatable {
        /// The normalized path equals it.
        case exact(String)
        /// The normalized path is it or continues it after a `/` (segment-wise: `/api` matches
        /// `/api` and `/api/x`, not `/apix`). Never ends with `/`, except `/` itself (every path).
        case prefix(String)
        /// `*` matches within one segment, `**` any number of segments.
        case glob(String)
    }

    public struct Upstream: Sendable, Equatable {
        /// `http://host:port` (a path part is prepended to the forwarded path); round-robin.
        /// Canonical form from the loader: lower-case scheme and host, explicit port, no trailing
        /// `/` (`http://127.0.0.1:9101`, `http://[::1]:80/base`).
        public var urls: [String]
        public var connectTimeout: Double = 2
        /// Longest wait for the upstream's response head, and between two reads of its body.
        public var readTimeout: Double = 30
        /// Idle keep-alive connections kept per event loop and upstream address.
        public var poolSize: Int = 64
        /// Extra attempts on another upstream for idempotent methods, only before any byte was sent.
        public var retries: Int = 1
        public init(urls: [String]) { self.urls = urls }
    }

    public enum AuthMode: String, Sendable, Equatable, CaseIterable {
        /// A valid token is required (401 without).
        case required
        /// A token is verified when present (a bad one is 401); none is fine.
        case optional
        /// No token is read; the policy still runs unless `policy.mode` says otherwise.
        case `public`
    }

    public struct Auth: Sendable, Equatable {
        public var mode: AuthMode = .required
        /// Issuer URLs accepted on this route; empty = every configured issuer.
        public var issuers: [String] = []
        public init() {}
    }

    public enum PolicyMode: String, Sendable, Equatable, CaseIterable {
        case enforce
        /// Evaluated and logged with `enforced: false`; never denies.
        case dryRun = "dry_run"
        /// Not evaluated at all.
        case off
    }

    public struct RoutePolicy: Sendable, Equatable {
        /// nil = `policy.query` at the top level.
        public var query: String?
        public var mode: PolicyMode = .enforce
        public init() {}
    }

    public struct WebSocket: Sendable, Equatable {
        /// Browsers cannot set `Authorization` on an upgrade: also read the token from this query
        /// parameter or cookie (removed before forwarding).
        public var tokenQuery: String?
        public var tokenCookie: String?
        /// A tunnel with no frame in either direction for this long is closed.
        public var idleTimeout: Double = 300
        /// Close the tunnel with 1008 when the token that opened it expires.
        public var closeOnTokenExpiry: Bool = false
        public init() {}
    }
}
