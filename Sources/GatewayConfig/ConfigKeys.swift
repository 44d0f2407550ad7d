/// The keys each mapping of routes.yaml allows, in the order docs/ROUTES.md lists them. The
/// loader refuses any other key, and a test holds docs/routes.schema.json to these lists.
enum ConfigKeys {
    static let topLevel = ["listen", "admin", "workers", "shutdown_grace", "limits", "trusted_proxies",
                           "identity_headers", "issuers", "policy", "decision_log", "routes"]
    static let admin = ["listen"]
    static let limits = ["max_header_bytes", "max_uri_bytes", "max_body_bytes", "discard_body_bytes", "discard_body_timeout"]
    static let issuer = ["issuer", "jwks_uri", "jwks_file", "audiences", "algorithms", "leeway", "require_exp",
                         "max_lifetime", "typ", "allow_insecure_http", "required", "cache"]
    static let issuerCache = ["min_ttl", "max_ttl", "default_ttl", "max_stale", "unknown_kid_interval", "fetch_timeout"]
    static let policy = ["directory", "git", "query", "required", "max_steps", "decision_cache"]
    static let policyGit = ["url", "branch", "path", "poll_interval", "webhook_secret", "webhook_secret_env", "webhook_secret_file",
                            "cache_dir", "require_tests_pass", "timeout"]
    static let decisionLog = ["file", "queue_size", "overflow", "batch_size", "flush_interval", "ring_size", "mask", "http"]
    static let decisionLogFile = ["path", "max_size", "max_files"]
    static let decisionLogMask = ["op", "path", "value"]
    static let decisionLogHTTP = ["url", "batch_size", "timeout", "max_retries", "headers"]
    static let route = ["id", "match", "upstream", "strip_prefix", "auth", "policy", "identity_headers",
                        "websocket", "limits"]
    static let match = ["host", "path", "path_prefix", "path_glob", "methods"]
    static let pathKeys = ["path", "path_prefix", "path_glob"]
    static let upstream = ["urls", "connect_timeout", "read_timeout", "pool_size", "retries"]
    static let routeAuth = ["mode", "issuers"]
    static let routePolicy = ["query", "mode"]
    static let websocket = ["enabled", "token_query", "token_cookie", "idle_timeout", "close_on_token_expiry"]
    static let routeLimits = ["max_body_bytes", "max_header_bytes"]
}
