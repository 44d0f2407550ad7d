import JOSE

/// One trusted token issuer (docs/AUTH_GUIDE.md, "Issuers").
public struct IssuerConfig: Sendable {
    /// The exact `iss` its tokens carry, and the base of OIDC discovery.
    public var issuer: String
    /// Where the key set lives; nil: discovered from `{issuer}/.well-known/openid-configuration`.
    public var jwksURI: String?
    /// Accepted audiences; `.any` only when configured explicitly.
    public var audiences: ClaimsPolicy.Audiences
    public var algorithms: Set<JWSAlgorithm>
    public var leeway: Double
    /// Refuse tokens without `exp` (the default; turn off only for issuers that never set it).
    public var requireExpiration: Bool
    public var maxLifetime: Double?
    public var requiredType: String?
    public var cache: KeyCacheSettings
    /// Permit plain http to a non-loopback host (never by default).
    public var allowInsecureHTTP: Bool
    /// Keys given in configuration instead of fetched (`jwks_file`): never refreshed, never stale.
    public var staticKeys: JWKS?

    public init(issuer: String, jwksURI: String? = nil, audiences: ClaimsPolicy.Audiences,
                algorithms: Set<JWSAlgorithm> = JWSAlgorithm.allAsymmetric, leeway: Double = ClaimsPolicy.defaultLeeway,
                requireExpiration: Bool = true, maxLifetime: Double? = nil, requiredType: String? = nil, cache: KeyCacheSettings = KeyCacheSettings(),
                allowInsecureHTTP: Bool = false, staticKeys: JWKS? = nil) {
        self.issuer = issuer
        self.jwksURI = jwksURI
        self.audiences = audiences
        self.algorithms = algorithms
        self.leeway = leeway
        self.requireExpiration = requireExpiration
        self.maxLifetime = maxLifetime
        self.requiredType = requiredType
        self.cache = cache
        self.allowInsecureHTTP = allowInsecureHTTP
        self.staticKeys = staticKeys
    }

    var claimsPolicy: ClaimsPolicy {
        ClaimsPolicy(issuer: issuer, audiences: audiences, leeway: leeway, requireExpiration: requireExpiration,
                     maxLifetime: maxLifetime, expectedType: requiredType)
    }
}

/// How an issuer's key set is fetched, kept and refreshed. Every duration is in seconds.
public struct KeyCacheSettings: Sendable, Equatable {
    /// Bounds for the refresh interval taken from `Cache-Control: max-age`.
    public var minTTL: Double = 300
    public var maxTTL: Double = 86_400
    /// Refresh interval when the response has no usable `max-age` (then clamped as well).
    public var defaultTTL: Double = 900
    /// At most one refetch for an unknown `kid` per this interval; in between, unknown kids fail fast.
    public var unknownKidInterval: Double = 30
    /// How long past its expiry the last good key set keeps verifying while fetches fail.
    public var maxStale: Double = 86_400
    /// First retry delay after a failed fetch; doubles (with jitter) up to `maxRetryDelay`.
    public var initialRetryDelay: Double = 1
    public var maxRetryDelay: Double = 60
    public var fetchTimeout: Double = 5
    public var maxBodyBytes: Int = 512 * 1024

    public init() {}
}

extension JOSEError.Code {
    /// No usable key set for the token's issuer (never fetched, or stale beyond `max_stale`):
    /// the gateway answers 503, never 401.
    public static let keysUnavailable = JOSEError.Code(rawValue: "keys_unavailable")
}
