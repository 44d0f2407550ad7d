import Synchronization

/// The most recent decisions in memory, for the admin API (`GET /v1/decisions`,
/// `GET /v1/decisions/{id}`): a fixed number of slots, the oldest overwritten. Entries are
/// stored as written (masked, credentials removed), with their summary for searching. Filled by
/// the writer thread, read by admin requests; one lock, never taken on the request path.
public final class DecisionRing: Sendable {
    public struct Entry: Sendable {
        public let summary: DecisionSummary
        /// The record's JSON (one object, no newline).
        public let json: [UInt8]
    }

    private struct Storage {
        var slots: [Entry?]
        var next = 0
        var count = 0
    }

    public let capacity: Int
    private let storage: Mutex<Storage>

    public init(capacity: Int) {
        self.capacity = max(capacity, 0)
        storage = Mutex(Storage(slots: Array(repeating: nil, count: max(capacity, 0))))
    }

    func append(_ entry: Entry) {
        guard capacity > 0 else { return }
        storage.withLock { s in
            s.slots[s.next] = entry
            s.next = (s.next + 1) % capacity
            s.count = min(s.count + 1, capacity)
        }
    }

    /// Matching entries, newest first, at most `filter.limit`.
    public func query(_ filter: DecisionFilter) -> [Entry] {
        let limit = filter.limit ?? Int.max
        return storage.withLock { s in
            var out: [Entry] = []
            var i = 0
            while i < s.count, out.count < limit {
                let index = (s.next - 1 - i + capacity) % capacity
                if let entry = s.slots[index], filter.matches(entry.summary) { out.append(entry) }
                i += 1
            }
            return out
        }
    }

    /// The entry with this decision id (either case), if still in the ring.
    public func lookup(decisionID: String) -> Entry? {
        query(DecisionFilter(decisionID: decisionID, limit: 1)).first
    }

    public var count: Int { storage.withLock { $0.count } }

    /// `[{...},{...}]`: entries as one JSON array (what the admin API returns).
    public static func jsonArray(_ entries: [Entry]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        out.reserveCapacity(entries.reduce(2) { $0 + $1.json.count + 1 })
        for (i, e) in entries.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: e.json)
        }
        out.append(UInt8(ascii: "]"))
        return out
    }
}
