import Atomics
import JOSE
import Synchronization

/// What a caller derives from one verified token (the gateway's policy input value and identity
/// headers), made once and shared by every thread that meets the token: it lives with the
/// token's cache entry, the first value stored wins and is never replaced, so every connection
/// presenting the token gets the same object.
/// (Unchecked: only `Sendable` objects are ever stored, through `value(orMake:)`.)
public final class TokenDerivations: @unchecked Sendable {
    private let slot = ManagedAtomicLazyReference<AnyObject>()

    public init() {}

    /// The value stored, or `make()`'s, stored for the next caller. Two threads making it at once
    /// both make one; the first stored is returned to both.
    public func value<T: AnyObject & Sendable>(orMake make: () throws -> T) rethrows -> T {
        if let known = slot.load() as? T { return known }
        let made = try make()
        return slot.storeIfNilThenLoad(made) as? T ?? made
    }
}

/// Verified tokens by the SHA-256 of their bytes (issue 3, item 3): a hit skips parsing and the signature,
/// but `exp`/`nbf` are checked again against the current time, and the entry dies at the
/// earlier of `exp` + leeway and the cache TTL. Bounded, with CLOCK ("second chance")
/// eviction, which approximates LRU without reordering on every hit.
///
/// Sharded: a lookup locks one of up to 32 shards briefly, so event loops rarely meet.
public final class VerifiedTokenCache: Sendable {
    public struct Entry: Sendable {
        public let token: VerifiedJWT
        public let issuer: String
        public var kid: String? { token.keyID }
        /// The issuer's leeway, for re-checking the time claims on a hit.
        public let leeway: Double
        /// The earlier of `exp` + leeway and insertion + TTL.
        public let expiresAt: Double
        /// What callers derived from this verified token, shared by all of them.
        public let derivations: TokenDerivations
    }

    public struct Statistics: Sendable, Equatable {
        public var hits = 0
        public var misses = 0
        public var evictions = 0
        public var entries = 0
    }

    /// SHA-256 of the token: 32 bytes per entry instead of the whole token, and exact (a
    /// token can only hit the entry of a token with the same bytes).
    private typealias Key = SHA256Digest

    private final class LockedShard: Sendable {
        let mutex = Mutex(Shard())
    }

    private struct Shard {
        var index: [Key: Int] = [:]
        var slots: [(key: Key, entry: Entry, referenced: Bool)?] = []
        var hand = 0
        var hits = 0, misses = 0, evictions = 0
        /// Recent distinct header byte strings: tokens of one issuer and key repeat the same
        /// header, so entries share one copy (about a tenth of an entry's size).
        var headers: [[UInt8]] = []
    }

    public let capacity: Int
    public let ttl: Double
    /// Hits answered by a caller's own copy of an entry (`Authenticator.reconfirm`).
    private let reconfirmedHits = Atomic<Int>(0)
    private let shardCapacity: Int
    private let shards: [LockedShard]

    public init(capacity: Int = 100_000, ttl: Double = 300) {
        self.capacity = max(capacity, 1)
        self.ttl = ttl
        // Up to 32 shards, but never under 64 entries each: CLOCK needs room to work.
        let shardCount = min(32, max(1, self.capacity / 64))
        self.shardCapacity = max(1, (self.capacity + shardCount - 1) / shardCount)
        self.shards = (0..<shardCount).map { _ in LockedShard() }
    }

    private func shard(for key: Key) -> LockedShard { shards[Int(key.words.1 % UInt64(shards.count))] }

    /// The cached verification of `token`, if present and still valid at `now` (its time
    /// claims re-checked); expired entries are dropped on the way.
    public func lookup(_ token: String, now: Double) -> Entry? {
        let key = Key(of: token)
        let entry: Entry? = shard(for: key).mutex.withLock { shard in
            guard let slot = shard.index[key], let stored = shard.slots[slot] else {
                shard.misses += 1
                return nil
            }
            guard now < stored.entry.expiresAt else {
                shard.index[key] = nil
                shard.slots[slot] = nil
                shard.misses += 1
                return nil
            }
            shard.slots[slot]!.referenced = true
            shard.hits += 1
            return stored.entry
        }
        guard let entry else { return nil }
        // The entry's deadline already bounds exp; nbf may still lie ahead (a token cached while
        // valid cannot become not-yet-valid, but re-checking costs nothing and keeps the rule simple).
        let policy = ClaimsPolicy(leeway: entry.leeway, requireExpiration: false)
        let token = entry.token
        do { try policy.checkTimes(exp: token.expiresAt, nbf: token.notBefore, iat: token.issuedAt, now: now) } catch { return nil }
        return entry
    }

    /// Caches a verified token; returns the derivations it will share with later hits (a new,
    /// unshared one when the token is not cached because its deadline has passed).
    @discardableResult
    public func insert(_ token: String, verified: VerifiedJWT, issuer: String, leeway: Double, now: Double) -> TokenDerivations {
        let deadline = min(now + ttl, (verified.expiresAt ?? .infinity) + leeway)
        let derivations = TokenDerivations()
        guard deadline > now else { return derivations }
        let key = Key(of: token)
        let capacity = shardCapacity
        return shard(for: key).mutex.withLock { shard in
            var verified = verified
            if let shared = shard.headers.first(where: { $0 == verified.headerJSON }) {
                verified = verified.sharingHeader(shared)
            } else {
                if shard.headers.count == 8 { shard.headers.removeFirst() }
                shard.headers.append(verified.headerJSON)
            }
            let entry = Entry(token: verified, issuer: issuer, leeway: leeway, expiresAt: deadline, derivations: derivations)
            if let slot = shard.index[key] {
                // Verified again meanwhile (two threads missed at once): a live first entry stays.
                if let occupant = shard.slots[slot], occupant.entry.expiresAt > now {
                    shard.slots[slot]!.referenced = true
                    return occupant.entry.derivations
                }
                shard.slots[slot] = (key, entry, true)
                return derivations
            }
            if shard.slots.count < capacity {
                shard.index[key] = shard.slots.count
                shard.slots.append((key, entry, false))
                return derivations
            }
            // CLOCK: skip (and clear) referenced slots, reuse the first unreferenced or empty one.
            while true {
                let slot = shard.hand
                shard.hand = (shard.hand + 1) % shard.slots.count
                if let occupant = shard.slots[slot] {
                    if occupant.referenced && occupant.entry.expiresAt > now {
                        shard.slots[slot]!.referenced = false
                        continue
                    }
                    shard.index[occupant.key] = nil
                    shard.evictions += 1
                }
                shard.index[key] = slot
                shard.slots[slot] = (key, entry, false)
                return derivations
            }
        }
    }

    /// Drops every entry verified by one of these keys of `issuer` (keys that left the set).
    public func purge(issuer: String, kids: Set<String?>) {
        for shard in shards {
            shard.mutex.withLock { shard in
                for (slot, occupant) in shard.slots.enumerated() {
                    guard let occupant, occupant.entry.issuer == issuer, kids.contains(occupant.entry.kid) else { continue }
                    shard.index[occupant.key] = nil
                    shard.slots[slot] = nil
                }
            }
        }
    }

    /// Counts a hit answered without a lookup: a caller re-checked its own copy of an entry.
    public func countReconfirmedHit() { reconfirmedHits.add(1, ordering: .relaxed) }

    public var statistics: Statistics {
        var total = Statistics()
        total.hits = reconfirmedHits.load(ordering: .relaxed)
        for shard in shards {
            shard.mutex.withLock { shard in
                total.hits += shard.hits
                total.misses += shard.misses
                total.evictions += shard.evictions
                total.entries += shard.index.count
            }
        }
        return total
    }
}
