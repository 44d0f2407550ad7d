import Foundation
import JOSE
import Synchronization
import Testing
@testable import Identity

enum Keys {
    static let a = try! PrivateKey.generate(.rsa(bits: 2048))
    static let b = try! PrivateKey.generate(.rsa(bits: 2048))
}

/// One fake issuer, one authenticator reading it, and a hand-moved clock.
final class Fixture: Sendable {
    let server: FakeIssuer
    let clock: TestClock
    let authenticator: Authenticator

    init(keys: [(String, PrivateKey)] = [("a", Keys.a)], configure: (inout IssuerConfig) -> Void = { _ in },
         behaviour: (inout FakeIssuer.Behaviour) -> Void = { _ in }, cache: VerifiedTokenCache = VerifiedTokenCache()) throws {
        server = try FakeIssuer()
        server.behaviour.withLock { b in
            b.keys = keys.map { (kid: $0.0, key: $0.1) }
            behaviour(&b)
        }
        let clock = TestClock()
        self.clock = clock
        var config = IssuerConfig(issuer: server.issuer, audiences: .oneOf(["api"]))
        configure(&config)
        authenticator = Authenticator(issuers: [config], tokenCache: cache, clock: { clock.now })
    }

    func close() async {
        try? await authenticator.shutdown()
        server.stop()
    }

    var issuerKeys: IssuerKeys { authenticator.issuers.values.first! }

    func token(kid: String, key: PrivateKey = Keys.a, lifetime: Double = 300, issuer: String? = nil) -> String {
        let now = Int(clock.now)
        let claims: JSONObject = ["iss": .string(issuer ?? server.issuer), "aud": "api", "sub": "user-1",
                                  "iat": .number(JSONNumber(now)), "exp": .number(JSONNumber(now + Int(lifetime)))]
        return try! JWTSigner.sign(claims: claims, key: key, algorithm: .rs256, kid: kid)
    }

    func code(_ token: String) async -> String {
        do { _ = try await authenticator.verify(token); return "valid" } catch { return error.code.rawValue }
    }
}

@Suite(.serialized)
struct JWKSCacheTests {
    @Test func firstFetchUsesDiscoveryAndVerifies() async throws {
        let f = try Fixture()
        #expect(await f.authenticator.refreshAll().isEmpty)
        #expect(f.server.discoveryFetches == 1)
        #expect(f.server.jwksFetches == 1)
        #expect(f.authenticator.isReady())
        #expect(await f.code(f.token(kid: "a")) == "valid")
        await f.close()
    }

    @Test func notReadyBeforeTheFirstFetchAndKeysUnavailable() async throws {
        let f = try Fixture()
        #expect(!f.authenticator.isReady())
        #expect(await f.code(f.token(kid: "a")) == "keys_unavailable")
        await f.close()
    }

    @Test func rotatedKeyVerifiesAfterExactlyOneFetch() async throws {
        let f = try Fixture()
        await f.authenticator.refreshAll()
        f.server.behaviour.withLock { $0.keys.append((kid: "b", key: Keys.b)) }
        #expect(await f.code(f.token(kid: "b", key: Keys.b)) == "valid")
        #expect(f.server.jwksFetches == 2)
        await f.close()
    }

    @Test func hundredConcurrentUnknownKidVerificationsCauseOneFetch() async throws {
        let f = try Fixture(behaviour: { $0.delay = 0.2 })
        await f.authenticator.refreshAll()
        f.server.behaviour.withLock { $0.keys = [(kid: "a", key: Keys.a), (kid: "b", key: Keys.b)] }
        let token = f.token(kid: "b", key: Keys.b)
        let codes = await withTaskGroup(of: String.self) { group in
            for _ in 0..<100 { group.addTask { await f.code(token) } }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(codes.count == 100)
        #expect(codes.allSatisfy { $0 == "valid" })
        #expect(f.server.jwksFetches == 2, "the initial fetch and exactly one refetch")
        await f.close()
    }

    /// A token missing the cache on many connections at once is verified once: the callers that
    /// come while its verification runs (here: waiting on a slow key-set refetch) get its result.
    @Test func concurrentMissesOfOneTokenRunOneVerification() async throws {
        let f = try Fixture(behaviour: { $0.delay = 0.2 })
        await f.authenticator.refreshAll()
        f.server.behaviour.withLock { $0.keys = [(kid: "a", key: Keys.a), (kid: "b", key: Keys.b)] }
        let token = f.token(kid: "b", key: Keys.b)
        let before = f.authenticator.verifications
        let codes = await withTaskGroup(of: String.self) { group in
            for _ in 0..<50 { group.addTask { await f.code(token) } }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(codes == Array(repeating: "valid", count: 50))
        #expect(f.authenticator.verifications - before == 1)
        let other = f.token(kid: "a", key: Keys.a, lifetime: 200)
        #expect(await f.code(other) == "valid")
        #expect(f.authenticator.verifications - before == 2, "another token is verified on its own")
        await f.close()
    }

    @Test func unknownKidRefetchIsRateLimited() async throws {
        let f = try Fixture()
        await f.authenticator.refreshAll()
        #expect(await f.code(f.token(kid: "nope")) == "unknown_kid")
        #expect(f.server.jwksFetches == 2)
        // Within 30 s: fails fast, no request.
        f.clock.advance(10)
        #expect(await f.code(f.token(kid: "still-nope")) == "unknown_kid")
        #expect(f.server.jwksFetches == 2)
        f.clock.advance(21)
        #expect(await f.code(f.token(kid: "again")) == "unknown_kid")
        #expect(f.server.jwksFetches == 3)
        await f.close()
    }

    @Test func staleKeysKeepVerifyingThroughAnOutageUntilMaxStale() async throws {
        let f = try Fixture(configure: { $0.cache.maxStale = 3600 })
        await f.authenticator.refreshAll()
        let expiresAt = f.issuerKeys.snapshot.expiresAt
        f.server.behaviour.withLock { $0.status = 500 }
        f.clock.advance(expiresAt - f.clock.now + 60)  // past the TTL: refresh due, and it fails
        #expect(await f.issuerKeys.refresh() == false)
        #expect(f.issuerKeys.state(at: f.clock.now).lastError?.contains("HTTP 500") == true)
        #expect(await f.code(f.token(kid: "a")) == "valid", "the last good set still verifies")
        #expect(f.authenticator.isReady())
        f.clock.advance(3600)
        #expect(await f.issuerKeys.refresh() == false)
        #expect(await f.code(f.token(kid: "a")) == "keys_unavailable")
        #expect(!f.authenticator.isReady())
        // Recovery.
        f.server.behaviour.withLock { $0.status = 200 }
        #expect(await f.issuerKeys.refresh())
        #expect(await f.code(f.token(kid: "a")) == "valid")
        await f.close()
    }

    @Test func removedKeyStopsVerifyingAndItsCachedTokensGo() async throws {
        let f = try Fixture(keys: [("a", Keys.a), ("b", Keys.b)])
        await f.authenticator.refreshAll()
        let token = f.token(kid: "a")
        #expect(try await f.authenticator.verify(token).cached == false)
        #expect(try await f.authenticator.verify(token).cached == true)
        #expect(f.authenticator.tokenCache.statistics.entries == 1)
        f.server.behaviour.withLock { $0.keys = [(kid: "b", key: Keys.b)] }
        #expect(await f.issuerKeys.refresh())
        #expect(f.authenticator.tokenCache.statistics.entries == 0)
        #expect(await f.code(token) == "unknown_kid")
        await f.close()
    }

    @Test func cachedTokenPastItsExpiryIsRejected() async throws {
        let f = try Fixture(configure: { $0.leeway = 0 })
        await f.authenticator.refreshAll()
        let token = f.token(kid: "a", lifetime: 100)
        #expect(await f.code(token) == "valid")
        f.clock.advance(50)
        #expect(try await f.authenticator.verify(token).cached)
        f.clock.advance(51)
        #expect(await f.code(token) == "expired")
        await f.close()
    }

    /// A connection's kept verification is confirmed again without the shared cache: only until
    /// its token expires, and only while its key is in the issuer's set. Each one is a cache hit.
    @Test func aKeptVerificationIsReconfirmedUntilExpiryOrKeyRemoval() async throws {
        let f = try Fixture(keys: [("a", Keys.a), ("b", Keys.b)], configure: { $0.leeway = 0 })
        await f.authenticator.refreshAll()
        let verification = try await f.authenticator.verify(f.token(kid: "a", lifetime: 100))
        let hits = f.authenticator.tokenCache.statistics.hits
        #expect(f.authenticator.reconfirm(verification))
        #expect(f.authenticator.tokenCache.statistics.hits == hits + 1)
        f.clock.advance(99)
        #expect(f.authenticator.reconfirm(verification))
        f.clock.advance(2)
        #expect(!f.authenticator.reconfirm(verification))

        let other = try await f.authenticator.verify(f.token(kid: "a", lifetime: 100))
        #expect(f.authenticator.reconfirm(other))
        f.server.behaviour.withLock { $0.keys = [(kid: "b", key: Keys.b)] }
        #expect(await f.issuerKeys.refresh())
        #expect(!f.authenticator.reconfirm(other))
        await f.close()
    }

    @Test func discoveryNamingAnotherIssuerIsRefused() async throws {
        let f = try Fixture(behaviour: { $0.discoveredIssuer = "https://evil.example/realms/test" })
        #expect(await f.authenticator.refreshAll().count == 1)
        #expect(f.issuerKeys.state(at: f.clock.now).lastError?.contains("evil.example") == true)
        #expect(f.server.jwksFetches == 0)
        #expect(await f.code(f.token(kid: "a")) == "keys_unavailable")
        await f.close()
    }

    @Test func oversizedKeySetIsRefused() async throws {
        let f = try Fixture(configure: { $0.cache.maxBodyBytes = 1024 },
                            behaviour: { $0.bodyOverride = Array(("{\"keys\":[]," + String(repeating: " ", count: 4096) + "}").utf8) })
        #expect(await f.issuerKeys.refresh() == false)
        #expect(f.issuerKeys.state(at: f.clock.now).lastError?.contains("1024-byte limit") == true)
        await f.close()
    }

    @Test func slowKeySetServerTimesOut() async throws {
        let f = try Fixture(configure: { $0.cache.fetchTimeout = 0.3 }, behaviour: { $0.delay = 2 })
        let started = Date()
        #expect(await f.issuerKeys.refresh() == false)
        #expect(Date().timeIntervalSince(started) < 1.9)
        #expect(f.issuerKeys.state(at: f.clock.now).lastError?.contains("timed out") == true)
        await f.close()
    }

    @Test func cacheControlIsClampedAndETagIsSent() async throws {
        let f = try Fixture(behaviour: { $0.cacheControl = "public, max-age=1200"; $0.etag = "\"v1\"" })
        #expect(await f.issuerKeys.refresh())
        var snapshot = f.issuerKeys.snapshot
        #expect(snapshot.expiresAt - snapshot.fetchedAt! == 1200)
        // Unchanged set: a conditional request, answered 304, keeps the keys and renews the TTL.
        f.clock.advance(1300)
        #expect(await f.issuerKeys.refresh())
        #expect(f.server.conditionalRequests.withLock { $0 } == ["\"v1\""])
        snapshot = f.issuerKeys.snapshot
        #expect(snapshot.keys.keys.map(\.kid) == ["a"])
        #expect(snapshot.fetchedAt == f.clock.now)
        #expect(f.issuerKeys.state(at: f.clock.now).fetches["not_modified"] == 1)
        // Clamping: below min_ttl and above max_ttl.
        f.server.behaviour.withLock { $0.cacheControl = "max-age=10"; $0.etag = nil }
        #expect(await f.issuerKeys.refresh())
        snapshot = f.issuerKeys.snapshot
        #expect(snapshot.expiresAt - snapshot.fetchedAt! == 300)
        f.server.behaviour.withLock { $0.cacheControl = "max-age=999999999" }
        #expect(await f.issuerKeys.refresh())
        snapshot = f.issuerKeys.snapshot
        #expect(snapshot.expiresAt - snapshot.fetchedAt! == 86_400)
        await f.close()
    }

    @Test func unknownIssuerFailsWithoutAnyRequest() async throws {
        let f = try Fixture()
        await f.authenticator.refreshAll()
        let before = f.server.requests.withLock { $0.values.reduce(0, +) }
        #expect(await f.code(f.token(kid: "a", issuer: "https://unknown.example")) == "wrong_issuer")
        #expect(f.server.requests.withLock { $0.values.reduce(0, +) } == before)
        await f.close()
    }

    @Test func plainHTTPToAnotherHostIsRefusedBeforeConnecting() async throws {
        let f = try Fixture(configure: { $0.jwksURI = "http://keys.example.com/certs" })
        #expect(await f.issuerKeys.refresh() == false)
        #expect(f.issuerKeys.state(at: f.clock.now).lastError?.contains("plain http is refused") == true)
        await f.close()
    }

    @Test func backgroundLoopRetriesTheFirstFetchUntilItSucceeds() async throws {
        let f = try Fixture(configure: { $0.cache.initialRetryDelay = 0.05; $0.cache.maxRetryDelay = 0.1 },
                            behaviour: { $0.status = 503 })
        let loop = Task { await f.authenticator.run() }
        try await Task.sleep(nanoseconds: 400_000_000)
        #expect(!f.authenticator.isReady())
        #expect(f.server.jwksFetches >= 3, "retried with backoff")
        f.server.behaviour.withLock { $0.status = 200 }
        var waited = 0
        while !f.authenticator.isReady() && waited < 50 {
            try await Task.sleep(nanoseconds: 100_000_000)
            waited += 1
        }
        #expect(f.authenticator.isReady())
        #expect(await f.code(f.token(kid: "a")) == "valid")
        loop.cancel()
        await loop.value
        await f.close()
    }

    @Test func failedVerificationIsNotCached() async throws {
        let f = try Fixture()
        await f.authenticator.refreshAll()
        let forged = f.token(kid: "a", key: Keys.b)
        #expect(await f.code(forged) == "bad_signature")
        #expect(await f.code(forged) == "bad_signature")
        #expect(f.authenticator.tokenCache.statistics.entries == 0)
        await f.close()
    }
}

struct VerifiedTokenCacheTests {
    static let verifier = JWTVerifier(keys: try! JWKS.parse(json: JSONValue.object(["keys": [.object({
        var jwk = Keys.a.publicKey.jwk(); jwk["kid"] = "a"; return jwk }())]]).serialized()))

    static func verified(_ token: String, now: Double) -> VerifiedJWT { try! verifier.verify(token, now: now) }

    static func token(_ n: Int, exp: Int = 1_800_000_300) -> String {
        try! JWTSigner.sign(claims: ["n": .number(JSONNumber(n)), "exp": .number(JSONNumber(exp))], key: Keys.a, algorithm: .rs256, kid: "a")
    }

    @Test func hitsAndMissesAreCounted() {
        let cache = VerifiedTokenCache()
        let token = Self.token(1)
        #expect(cache.lookup(token, now: 1_800_000_000) == nil)
        cache.insert(token, verified: Self.verified(token, now: 1_800_000_000), issuer: "i", leeway: 60, now: 1_800_000_000)
        #expect(cache.lookup(token, now: 1_800_000_001)?.token.claims["n"] == 1)
        #expect(cache.statistics == .init(hits: 1, misses: 1, evictions: 0, entries: 1))
    }

    /// What the gateway derives from a token lives with its entry: every hit, from any thread,
    /// gets the one object first made; a token verified again after its entry died gets a new one.
    @Test func derivationsAreMadeOnceAndSharedByEveryHit() async {
        final class Derived: Sendable { let n: Int; init(_ n: Int) { self.n = n } }
        final class Counter: Sendable { let made = Mutex(0) }
        let cache = VerifiedTokenCache(ttl: 100)
        let token = Self.token(1)
        let now = 1_800_000_000.0
        let inserted = cache.insert(token, verified: Self.verified(token, now: now), issuer: "i", leeway: 0, now: now)
        let counter = Counter()
        let objects = await withTaskGroup(of: ObjectIdentifier?.self) { group in
            for _ in 0..<32 {
                group.addTask {
                    guard let entry = cache.lookup(token, now: now + 1) else { return nil }
                    let derived = entry.derivations.value { () -> Derived in
                        counter.made.withLock { $0 += 1 }
                        return Derived(7)
                    }
                    return ObjectIdentifier(derived)
                }
            }
            var all: [ObjectIdentifier?] = []
            for await object in group { all.append(object) }
            return all
        }
        #expect(objects.count == 32 && !objects.contains(nil))
        #expect(Set(objects).count == 1, "one object for every hit")
        #expect(counter.made.withLock { $0 } >= 1)
        #expect(cache.lookup(token, now: now + 2)?.derivations === inserted)
        let again = cache.insert(token, verified: Self.verified(token, now: now), issuer: "i", leeway: 0, now: now + 3)
        #expect(again === inserted, "a live entry verified again keeps its derivations")
        let renewed = cache.insert(token, verified: Self.verified(token, now: now), issuer: "i", leeway: 0, now: now + 200)
        #expect(renewed !== inserted, "an expired entry is replaced, derivations and all")
        #expect(renewed.value { Derived(8) }.n == 8)
    }

    @Test func entryLivesUntilTheEarlierOfExpAndTTL() {
        let cache = VerifiedTokenCache(ttl: 100)
        let token = Self.token(1, exp: 1_800_000_300)
        cache.insert(token, verified: Self.verified(token, now: 1_800_000_000), issuer: "i", leeway: 0, now: 1_800_000_000)
        #expect(cache.lookup(token, now: 1_800_000_099) != nil)
        #expect(cache.lookup(token, now: 1_800_000_101) == nil, "TTL first")
        let longTTL = VerifiedTokenCache(ttl: 10_000)
        longTTL.insert(token, verified: Self.verified(token, now: 1_800_000_000), issuer: "i", leeway: 0, now: 1_800_000_000)
        #expect(longTTL.lookup(token, now: 1_800_000_299) != nil)
        #expect(longTTL.lookup(token, now: 1_800_000_300) == nil, "exp first")
    }

    @Test func capacityIsBoundedAndRecentlyUsedEntriesSurvive() {
        let cache = VerifiedTokenCache(capacity: 64, ttl: 1000)
        let tokens = (0..<300).map { Self.token($0) }
        let now = 1_800_000_000.0
        let hot = tokens[0]
        for (i, token) in tokens.enumerated() {
            cache.insert(token, verified: Self.verified(token, now: now), issuer: "i", leeway: 0, now: now)
            if i % 4 == 0 { _ = cache.lookup(hot, now: now) }
        }
        let stats = cache.statistics
        #expect(stats.entries <= 64 + 32)
        #expect(stats.evictions >= 300 - 96)
        #expect(cache.lookup(hot, now: now) != nil, "an entry hit often is kept")
    }

    @Test func purgeDropsOnlyThatIssuersKeys() {
        let cache = VerifiedTokenCache()
        let now = 1_800_000_000.0
        let t1 = Self.token(1), t2 = Self.token(2)
        cache.insert(t1, verified: Self.verified(t1, now: now), issuer: "i1", leeway: 0, now: now)
        cache.insert(t2, verified: Self.verified(t2, now: now), issuer: "i2", leeway: 0, now: now)
        cache.purge(issuer: "i1", kids: ["a"])
        #expect(cache.lookup(t1, now: now) == nil)
        #expect(cache.lookup(t2, now: now) != nil)
    }
}
