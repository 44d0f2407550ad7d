import AsyncHTTPClient
import NIOCore
import Synchronization

/// Where to upload decisions, in OPA's decision-log format: a gzip-compressed JSON array of
/// records POSTed per batch (`Content-Type: application/json`, `Content-Encoding: gzip`).
public struct HTTPSinkConfiguration: Sendable, Equatable {
    public var url: String
    public var batchSize: Int = 500
    /// Per upload attempt, seconds.
    public var timeout: Double = 10
    /// Further attempts after a failed upload, with exponential backoff (0.5 s, 1 s, 2 s, ... at
    /// most 30 s); then the batch is dropped and counted.
    public var maxRetries: Int = 5
    /// Extra request headers (e.g. `Authorization` for the collector).
    public var headers: [Header] = []
    /// Records waiting for upload at most; more are dropped and counted.
    public var bufferSize: Int = 10_000

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) { self.name = name; self.value = value }
    }

    public init(url: String) { self.url = url }
}

/// The upload side of the decision log: the writer thread hands every written record over
/// (`enqueue`, never waiting), `run` uploads batches from a task. A collector that is slow or
/// down costs buffered records (bounded, counted when dropped), never request latency.
final class HTTPDecisionSink: Sendable {
    struct Counts: Sendable {
        var sent: UInt64 = 0
        var dropped: UInt64 = 0
        var failedUploads: UInt64 = 0
    }

    let configuration: HTTPSinkConfiguration
    private let buffer = Mutex<[[UInt8]]>([])
    private let counts = Mutex(Counts())
    private let onError: @Sendable (String) -> Void
    private let onDrop: @Sendable (Int) -> Void
    /// Overridable for tests (backoff base, seconds).
    let backoffBase: Double

    init(configuration: HTTPSinkConfiguration, backoffBase: Double = 0.5, onError: @escaping @Sendable (String) -> Void,
         onDrop: @escaping @Sendable (Int) -> Void) {
        self.configuration = configuration
        self.backoffBase = backoffBase
        self.onError = onError
        self.onDrop = onDrop
    }

    /// From the writer thread.
    func enqueue(_ json: [UInt8]) {
        let accepted = buffer.withLock { b -> Bool in
            guard b.count < configuration.bufferSize else { return false }
            b.append(json)
            return true
        }
        if !accepted {
            counts.withLock { $0.dropped += 1 }
            onDrop(1)
        }
    }

    var pendingCount: Int { buffer.withLock { $0.count } }
    var snapshot: Counts { counts.withLock { $0 } }

    private func takeBatch() -> [[UInt8]] {
        buffer.withLock { b in
            let n = min(b.count, configuration.batchSize)
            let batch = Array(b[0..<n])
            b.removeFirst(n)
            return batch
        }
    }

    /// Uploads until `isStopping()` is true and nothing is left (checking every `interval`).
    func run(client: HTTPClient, interval: Double, isStopping: @Sendable () -> Bool) async {
        while true {
            let stopping = isStopping()
            while pendingCount >= configuration.batchSize { await upload(takeBatch(), client: client, finalAttempt: stopping) }
            if stopping {
                while pendingCount > 0 { await upload(takeBatch(), client: client, finalAttempt: true) }
                return
            }
            // A partial batch goes at most once per interval (full ones at once, above).
            try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
            if pendingCount > 0, pendingCount < configuration.batchSize {
                await upload(takeBatch(), client: client, finalAttempt: false)
            }
        }
    }

    static func body(_ batch: [[UInt8]]) throws -> [UInt8] {
        var json: [UInt8] = [UInt8(ascii: "[")]
        json.reserveCapacity(batch.reduce(2) { $0 + $1.count + 1 })
        for (i, record) in batch.enumerated() {
            if i > 0 { json.append(UInt8(ascii: ",")) }
            json.append(contentsOf: record)
        }
        json.append(UInt8(ascii: "]"))
        return try Gzip.compress(json)
    }

    /// One batch with retries; `finalAttempt` (shutdown) tries once more at most.
    func upload(_ batch: [[UInt8]], client: HTTPClient, finalAttempt: Bool) async {
        guard !batch.isEmpty else { return }
        let body: [UInt8]
        do { body = try Self.body(batch) } catch {
            drop(batch.count, "decision log upload: \(error)")
            return
        }
        let attempts = finalAttempt ? min(configuration.maxRetries, 1) + 1 : configuration.maxRetries + 1
        var lastError = ""
        for attempt in 0..<attempts {
            if attempt > 0 {
                let delay = min(backoffBase * Double(1 << min(attempt - 1, 16)), 30)
                try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            }
            var request = HTTPClientRequest(url: configuration.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Content-Encoding", value: "gzip")
            for header in configuration.headers { request.headers.add(name: header.name, value: header.value) }
            request.body = .bytes(ByteBuffer(bytes: body))
            do {
                let response = try await client.execute(request, timeout: .nanoseconds(Int64(configuration.timeout * 1e9)))
                _ = try? await response.body.collect(upTo: 64 << 10)
                if (200...299).contains(response.status.code) {
                    counts.withLock { $0.sent += UInt64(batch.count) }
                    return
                }
                lastError = "HTTP \(response.status.code)"
            } catch {
                lastError = "\(error)"
            }
            counts.withLock { $0.failedUploads += 1 }
        }
        drop(batch.count, "decision log upload to \(configuration.url) failed after \(attempts) attempts: \(lastError); \(batch.count) records dropped")
    }

    private func drop(_ count: Int, _ message: String) {
        counts.withLock { $0.dropped += UInt64(count) }
        onDrop(count)
        onError(message)
    }
}
