import AsyncHTTPClient
import Foundation
import JOSE
import Synchronization

/// Verifies bearer tokens against several issuers (issue 3): the token's unverified `iss`
/// chooses the issuer (an unknown one fails as `wrong_issuer` without any network request),
/// then the verified-token cache, then the issuer's cached key set, refetched once
/// (single-flight, rate-limited) for an unknown `kid`.
public final class Authenticator: Sendable {
    public struct Verification: Sendable {
        public let token: VerifiedJWT
        public let issuer: String
        public let cached: Bool
        /// Trusted until then at most: the earlier of `exp` + leeway and the token cache's TTL.
        public let deadline: Double
        /// The issuer's leeway, for re-checking the time claims.
        public let leeway: Double
        /// What callers derive from this token, shared with every later verification of it.
        public let derivations: TokenDerivations
    }

    public let issuers: [String: IssuerKeys]
    public let tokenCache: VerifiedTokenCache
    private let clock: @Sendable () -> Double
    private let ownsClient: HTTPClient?
    /// Verifications in progress by the SHA-256 of their token: a token that misses the cache
    /// on several connections at once (a restart, a burst of new sessions) has its signature
    /// checked once, and every caller gets that verification.
    private let inFlight = Mutex<[SHA256Digest: Task<Result<Verification, JOSEError>, Never>]>([:])
    private let verificationsRun = Atomic<Int>(0)

    /// - Parameter client: the HTTP client for discovery and key sets; by default one with
    ///   redirects disabled, owned (and shut down by `shutdown()`) by the authenticator.
    public init(issuers configs: [IssuerConfig], tokenCache: VerifiedTokenCache = VerifiedTokenCache(),
                client: HTTPClient? = nil, clock: @escaping @Sendable () -> Double = { ClaimsPolicy.now() }) {
        let owned = client == nil
            ? HTTPClient(eventLoopGroupProvider: .singleton,
                         configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))
            : nil
        let http = client ?? owned!
        self.ownsClient = owned
        self.tokenCache = tokenCache
        self.clock = clock
        var issuers: [String: IssuerKeys] = [:]
        for config in configs {
            issuers[config.issuer] = IssuerKeys(config: config, client: http, clock: clock) { [tokenCache] issuer, kids in
                tokenCache.purge(issuer: issuer, kids: kids)
            }
        }
        self.issuers = issuers
    }

    public func shutdown() async throws {
        try await ownsClient?.shutdown()
    }

    /// Keeps every issuer's key set fresh until cancelled (run it in a task group / service).
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for issuer in issuers.values { group.addTask { await issuer.run() } }
        }
    }

    /// Fetches every issuer's keys once; returns the issuers whose fetch failed.
    public func refreshAll() async -> [String] {
        await withTaskGroup(of: (String, Bool).self) { group in
            for issuer in issuers.values { group.addTask { (issuer.config.issuer, await issuer.refresh()) } }
            var failed: [String] = []
            for await (name, ok) in group where !ok { failed.append(name) }
            return failed.sorted()
        }
    }

    /// Ready when every issuer's keys are usable.
    public func isReady() -> Bool {
        let now = clock()
        return issuers.values.allSatisfy { $0.isUsable(at: now) }
    }

    /// The cached verification of `token`, synchronously (no parsing, no suspension): what an
    /// event loop tries before it goes async with `verify`. Its key must still be in the
    /// issuer's current set.
    public func cachedVerification(_ token: String) -> Verification? {
        guard let entry = tokenCache.lookup(token, now: clock()), let issuer = issuers[entry.issuer],
              issuer.snapshot.containsKey(kid: entry.kid) else { return nil }
        return Verification(token: entry.token, issuer: entry.issuer, cached: true, deadline: entry.expiresAt, leeway: entry.leeway,
                            derivations: entry.derivations)
    }

    /// A verification its caller kept (a connection's last token, sent again byte for byte)
    /// confirmed again at `time` (the request's arrival, in seconds since the epoch; now by
    /// default), as a cache hit would be but without hashing the token: before its deadline, its
    /// time claims valid, its key still in the issuer's current set. Counted as a token-cache hit.
    public func reconfirm(_ verification: Verification, at time: Double? = nil) -> Bool {
        let now = time ?? clock()
        guard now < verification.deadline, let issuer = issuers[verification.issuer],
              issuer.snapshot.containsKey(kid: verification.token.keyID) else { return false }
        let policy = ClaimsPolicy(leeway: verification.leeway, requireExpiration: false)
        let token = verification.token
        do { try policy.checkTimes(exp: token.expiresAt, nbf: token.notBefore, iat: token.issuedAt, now: now) } catch { return false }
        tokenCache.countReconfirmedHit()
        return true
    }

    /// Verifications run so far: cache misses that reached the verifier (callers that joined one
    /// in progress are not counted again).
    public var verifications: Int { verificationsRun.load(ordering: .relaxed) }

    /// - Parameter cacheChecked: the caller has just missed `cachedVerification` (not looked up,
    ///   nor counted, a second time).
    public func verify(_ token: String, cacheChecked: Bool = false) async throws(JOSEError) -> Verification {
        if !cacheChecked, let cached = cachedVerification(token) { return cached }
        let key = SHA256Digest(of: token)
        let (task, owner) = inFlight.withLock { running -> (Task<Result<Verification, JOSEError>, Never>, Bool) in
            if let known = running[key] { return (known, false) }
            let task = Task { () -> Result<Verification, JOSEError> in
                do throws(JOSEError) { return .success(try await self.verifyUncached(token)) } catch { return .failure(error) }
            }
            running[key] = task
            return (task, true)
        }
        let result = await task.value
        if owner { _ = inFlight.withLock { $0.removeValue(forKey: key) } }
        return try result.get()
    }

    private func verifyUncached(_ token: String) async throws(JOSEError) -> Verification {
        verificationsRun.add(1, ordering: .relaxed)
        let now = clock()
        let jws = try CompactJWS(token)
        // Parsed once here and reused by the verifier; trusted only after the signature verifies.
        let registered = try jws.registeredClaims()
        let unverifiedIssuer = try Self.unverifiedIssuer(registered)
        guard let issuer = issuers[unverifiedIssuer] else {
            throw JOSEError(.wrongIssuer, "issuer \"\(unverifiedIssuer)\" is not configured")
        }
        let config = issuer.config
        guard issuer.isUsable(at: now) else {
            throw JOSEError(.keysUnavailable, "no usable key set for issuer \"\(config.issuer)\"")
        }
        var verifier = JWTVerifier(keys: issuer.snapshot.keys, allowedAlgorithms: config.algorithms, claims: config.claimsPolicy)
        let verified: VerifiedJWT
        do {
            verified = try verifier.verify(jws, registeredClaims: registered, now: now)
        } catch where error.code == .unknownKid {
            guard await issuer.refetchForUnknownKid(jws.kid) else { throw error }
            verifier.keys = issuer.snapshot.keys
            verified = try verifier.verify(jws, registeredClaims: registered, now: clock())
        }
        let derivations = tokenCache.insert(token, verified: verified, issuer: config.issuer, leeway: config.leeway, now: now)
        let deadline = min(now + tokenCache.ttl, (verified.expiresAt ?? .infinity) + config.leeway)
        return Verification(token: verified, issuer: config.issuer, cached: false, deadline: deadline, leeway: config.leeway,
                            derivations: derivations)
    }

    /// The `iss` claim before verification: used only to choose which issuer's keys to try.
    static func unverifiedIssuer(_ registered: JSONObject) throws(JOSEError) -> String {
        guard let value = registered["iss"] else {
            throw JOSEError(.missingClaim, "the token has no \"iss\" claim")
        }
        guard let iss = value.stringValue else { throw JOSEError(.invalidClaim, "\"iss\" must be a string") }
        return iss
    }

    public func states() -> [IssuerKeyState] {
        let now = clock()
        return issuers.values.map { $0.state(at: now) }.sorted { $0.issuer < $1.issuer }
    }
}
