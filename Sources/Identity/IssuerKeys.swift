import AsyncHTTPClient
import Atomics
import Foundation
import JOSE
import Synchronization

/// One issuer's key set as verification sees it: immutable, swapped atomically.
public final class KeySnapshot: AtomicReference, Sendable {
    public let keys: JWKS
    /// When these keys were fetched (or last confirmed by a 304); nil: never fetched.
    public let fetchedAt: Double?
    /// When a refresh is due (fetch time + TTL from Cache-Control, clamped).
    public let expiresAt: Double
    let etag: String?

    init(keys: JWKS, fetchedAt: Double?, expiresAt: Double, etag: String?) {
        self.keys = keys
        self.fetchedAt = fetchedAt
        self.expiresAt = expiresAt
        self.etag = etag
    }

    static let empty = KeySnapshot(keys: JWKS(keys: []), fetchedAt: nil, expiresAt: 0, etag: nil)

    func containsKey(kid: String?) -> Bool {
        keys.keys.contains { $0.kid == kid }
    }
}

/// The state of one issuer's key cache, for `/v1/status` and metrics.
public struct IssuerKeyState: Sendable, Equatable {
    public var issuer: String
    public var jwksURI: String?
    public var keyIDs: [String]
    public var fetchedAt: Double?
    public var expiresAt: Double?
    /// True while the last good key set may still be used (not past `max_stale`).
    public var usable: Bool
    public var lastError: String?
    public var lastErrorAt: Double?
    /// Completed HTTP fetches of the key set by outcome.
    public var fetches: [String: Int]
}

/// An issuer's JWKS cache (issue 3): first fetch with backoff, refresh at the TTL, single-flight
/// and rate-limited refetch for an unknown `kid`, the last good set kept through outages up to
/// `max_stale`. Verification reads `snapshot` without locks; fetches run in tasks.
public final class IssuerKeys: Sendable {
    public let config: IssuerConfig
    private let fetcher: DocumentFetcher
    private let current = ManagedAtomic<KeySnapshot>(.empty)
    private let clock: @Sendable () -> Double
    private let state = Mutex(FetchState())
    /// Called with the key ids that disappeared, so cached tokens signed by them go too.
    private let onKeysRemoved: @Sendable (String, Set<String?>) -> Void

    private struct FetchState: Sendable {
        var inFlight: Task<Bool, Never>? = nil
        var lastUnknownKidFetch: Double = -.infinity
        var jwksURI: String? = nil
        var lastError: String? = nil
        var lastErrorAt: Double? = nil
        var fetches: [String: Int] = [:]
    }

    init(config: IssuerConfig, client: HTTPClient, clock: @escaping @Sendable () -> Double,
         onKeysRemoved: @escaping @Sendable (String, Set<String?>) -> Void) {
        self.config = config
        self.fetcher = DocumentFetcher(client: client)
        self.clock = clock
        self.onKeysRemoved = onKeysRemoved
        state.withLock { $0.jwksURI = config.jwksURI }
        if let keys = config.staticKeys {
            current.store(KeySnapshot(keys: keys, fetchedAt: clock(), expiresAt: .infinity, etag: nil), ordering: .releasing)
        }
    }

    /// The key set to verify with right now.
    public var snapshot: KeySnapshot { current.load(ordering: .acquiring) }

    /// Whether the keys may be used at `now`: fetched once and not stale past `max_stale`.
    public func isUsable(at now: Double) -> Bool {
        let snapshot = self.snapshot
        return snapshot.fetchedAt != nil && now <= snapshot.expiresAt + config.cache.maxStale
    }

    public func state(at now: Double) -> IssuerKeyState {
        let snapshot = self.snapshot
        return state.withLock { state in
            IssuerKeyState(issuer: config.issuer, jwksURI: state.jwksURI, keyIDs: snapshot.keys.keys.compactMap(\.kid),
                           fetchedAt: snapshot.fetchedAt, expiresAt: snapshot.fetchedAt == nil ? nil : snapshot.expiresAt,
                           usable: isUsable(at: now), lastError: state.lastError, lastErrorAt: state.lastErrorAt,
                           fetches: state.fetches)
        }
    }

    /// Refetches because a token named a `kid` the set lacks. Concurrent callers share one
    /// fetch; within `unknown_kid_interval` of the last such refetch nothing is fetched.
    /// Returns whether the set now has that kid.
    func refetchForUnknownKid(_ kid: String?) async -> Bool {
        guard config.staticKeys == nil else { return false }
        let task: Task<Bool, Never>? = state.withLock { state in
            if let inFlight = state.inFlight { return inFlight }
            let now = clock()
            guard now - state.lastUnknownKidFetch >= config.cache.unknownKidInterval else { return nil }
            state.lastUnknownKidFetch = now
            return startFetch(&state)
        }
        guard let task else { return false }
        _ = await task.value
        return snapshot.containsKey(kid: kid)
    }

    /// Fetches now (sharing a fetch already under way). Returns whether it succeeded.
    @discardableResult
    public func refresh() async -> Bool {
        guard config.staticKeys == nil else { return true }
        let task = state.withLock { state in state.inFlight ?? startFetch(&state) }
        return await task.value
    }

    private func startFetch(_ state: inout FetchState) -> Task<Bool, Never> {
        let task = Task { await self.fetchOnce() }
        state.inFlight = task
        return task
    }

    /// Keeps the key set fresh until cancelled: the first fetch with exponential backoff and
    /// jitter, then a refresh at each expiry; failed refreshes retry with backoff while the
    /// last good set keeps serving.
    public func run() async {
        guard config.staticKeys == nil else { return }
        var delay = config.cache.initialRetryDelay
        while !Task.isCancelled {
            let succeeded = await refresh()
            let wait: Double
            if succeeded {
                delay = config.cache.initialRetryDelay
                wait = max(snapshot.expiresAt - clock(), 1)
            } else {
                wait = delay * Double.random(in: 0.5...1.5)
                delay = min(delay * 2, config.cache.maxRetryDelay)
            }
            do { try await Task.sleep(nanoseconds: UInt64(wait * 1e9)) } catch { return }
        }
    }

    private func fetchOnce() async -> Bool {
        defer { state.withLock { $0.inFlight = nil } }
        do {
            let uri = try await jwksURI()
            let previous = snapshot
            let outcome = try await fetcher.get(uri, etag: previous.etag, allowInsecureHTTP: config.allowInsecureHTTP,
                                                timeout: config.cache.fetchTimeout, maxBytes: config.cache.maxBodyBytes)
            let now = clock()
            switch outcome {
            case .notModified(let maxAge):
                guard previous.fetchedAt != nil else { throw DocumentFetcher.Failure(description: "GET \(uri): 304 without a cached key set") }
                current.store(KeySnapshot(keys: previous.keys, fetchedAt: now, expiresAt: now + ttl(maxAge), etag: previous.etag),
                              ordering: .releasing)
                record(outcome: "not_modified", error: nil)
            case .document(let body, let etag, let maxAge):
                let keys: JWKS
                do { keys = try body.withUnsafeBytes { try JWKS.parse($0) } } catch {
                    throw DocumentFetcher.Failure(description: "GET \(uri): \((error as? JOSEError)?.message ?? "\(error)")")
                }
                guard !keys.keys.isEmpty else {
                    throw DocumentFetcher.Failure(description: "GET \(uri): the key set has no usable signature key")
                }
                current.store(KeySnapshot(keys: keys, fetchedAt: now, expiresAt: now + ttl(maxAge), etag: etag), ordering: .releasing)
                let removed = Set(previous.keys.keys.map(\.kid)).subtracting(keys.keys.map(\.kid))
                if !removed.isEmpty { onKeysRemoved(config.issuer, removed) }
                record(outcome: "ok", error: nil)
            }
            return true
        } catch {
            record(outcome: "error", error: "\(error)")
            return false
        }
    }

    private func record(outcome: String, error: String?) {
        let now = clock()
        state.withLock { state in
            state.fetches[outcome, default: 0] += 1
            if let error {
                state.lastError = error
                state.lastErrorAt = now
            }
        }
    }

    private func ttl(_ maxAge: Double?) -> Double {
        min(max(maxAge ?? config.cache.defaultTTL, config.cache.minTTL), config.cache.maxTTL)
    }

    /// The configured `jwks_uri`, or the one OIDC discovery names (discovered once, then kept).
    private func jwksURI() async throws -> String {
        if let known = state.withLock({ $0.jwksURI }) { return known }
        let base = config.issuer.hasSuffix("/") ? String(config.issuer.dropLast()) : config.issuer
        let url = base + "/.well-known/openid-configuration"
        let outcome = try await fetcher.get(url, etag: nil, allowInsecureHTTP: config.allowInsecureHTTP,
                                            timeout: config.cache.fetchTimeout, maxBytes: config.cache.maxBodyBytes)
        guard case .document(let body, _, _) = outcome else {
            throw DocumentFetcher.Failure(description: "GET \(url): unexpected 304")
        }
        let document: JSONValue
        do { document = try JSONParser.parse(bytes: body) } catch {
            throw DocumentFetcher.Failure(description: "GET \(url): not valid JSON: \(error)")
        }
        guard let issuer = document["issuer"]?.stringValue else {
            throw DocumentFetcher.Failure(description: "GET \(url): the discovery document has no \"issuer\"")
        }
        // OpenID Connect Discovery §4.3: the issuer must be exactly the one configured.
        guard issuer == config.issuer else {
            throw DocumentFetcher.Failure(description: "GET \(url): discovery names issuer \"\(issuer)\", not \"\(config.issuer)\"")
        }
        guard let uri = document["jwks_uri"]?.stringValue else {
            throw DocumentFetcher.Failure(description: "GET \(url): the discovery document has no \"jwks_uri\"")
        }
        try DocumentFetcher.checkScheme(uri, allowInsecureHTTP: config.allowInsecureHTTP)
        state.withLock { $0.jwksURI = uri }
        return uri
    }
}
