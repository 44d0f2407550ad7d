import AsyncHTTPClient
import CoreMetrics
import Foundation
import RegoLite
import Synchronization

/// The decision log: the request path calls `log` (a move into a bounded queue); one writer
/// thread masks, encodes and writes the records (JSON lines with size rotation), keeps the
/// newest in `ring` for the admin API and hands them to the optional HTTP sink.
///
/// Lifecycle: `init` opens the file (a bad path fails at start), `start()` starts the writer
/// thread, `run()` drives the HTTP sink (run it in the service group when `http` is set; it
/// returns after `shutdown()` or on cancellation, which also shuts down), `flush()` waits
/// until every record logged before it is written, `shutdown()` writes what was accepted,
/// uploads what it can, closes the file and stops the thread. Call `shutdown()` after the
/// listeners drained, so records of in-flight requests are on disk when the process exits.
public final class DecisionLogger: @unchecked Sendable {
    public struct Configuration: Sendable, Equatable {
        public struct File: Sendable, Equatable {
            public var path: String
            /// Rotate before a line would take the file past this size.
            public var maxSize: Int64 = 100 << 20
            /// Rotated files kept (`path.1` ... `path.maxFiles`).
            public var maxFiles: Int = 5
            public init(path: String) { self.path = path }
        }

        /// nil: no file (the ring and the HTTP sink still get every record).
        public var file: File?
        public var queueSize: Int = 10_000
        public var overflow: OverflowPolicy = .drop
        /// The writer wakes when this many records wait...
        public var batchSize: Int = 256
        /// ...or after this many seconds at the latest.
        public var flushInterval: Double = 0.2
        /// Records kept in memory for the admin API (0 = none).
        public var ringSize: Int = 1000
        public var masks: [MaskRule] = []
        /// `labels` written in every record, e.g. `[("id", instance), ("version", "0.5.0")]`.
        public var labels: [Label] = []
        public var http: HTTPSinkConfiguration?

        public struct Label: Sendable, Equatable {
            public var name: String
            public var value: String
            public init(_ name: String, _ value: String) { self.name = name; self.value = value }
        }

        public init() {}
    }

    public struct Statistics: Sendable, Equatable {
        /// For `/v1/status` (`decision_log`).
        public var json: Value {
            func n(_ v: UInt64) -> Value { .int(Int(clamping: v)) }
            return .object(RegoObject(pairs: [
                (.string("accepted"), n(accepted)), (.string("dropped"), n(dropped)), (.string("written"), n(written)),
                (.string("write_failures"), n(writeFailures)), (.string("rotations"), .int(rotations)),
                (.string("http_sent"), n(httpSent)), (.string("http_dropped"), n(httpDropped)),
                (.string("http_failed_uploads"), n(httpFailedUploads)),
            ]))
        }

        /// Records taken by `log`.
        public var accepted: UInt64
        /// Records refused by `log` (queue full with `drop`, or logged after shutdown).
        public var dropped: UInt64
        /// Records written to the file (or prepared, without a file).
        public var written: UInt64
        /// Records lost to write errors.
        public var writeFailures: UInt64
        public var rotations: Int
        public var httpSent: UInt64
        public var httpDropped: UInt64
        public var httpFailedUploads: UInt64
    }

    public let configuration: Configuration
    /// The newest records, for `GET /v1/decisions` (`DecisionFilter.parse(query:)`,
    /// `ring.query`, `DecisionRing.jsonArray`) and `GET /v1/decisions/{id}` (`ring.lookup`).
    public let ring: DecisionRing
    private let queue: RecordQueue
    private let encoder: RecordEncoder
    private let file: RotatingFile?
    private let sink: HTTPDecisionSink?
    private let onError: @Sendable (String) -> Void
    private let droppedCounter: CoreMetrics.Counter?
    private let httpDroppedCounter: CoreMetrics.Counter?
    private let lock = NSLock()
    private var writer: Thread?
    private var writerDone = DispatchSemaphore(value: 0)
    private var written: UInt64 = 0
    private var writeFailures: UInt64 = 0
    private let shutDown = Atomic<Bool>(false)
    /// Set once the writer handed its last record to the HTTP sink (after `shutDown`).
    private let drained = Atomic<Bool>(false)

    /// `metrics`: counters `portcullis_decision_logs_dropped_total{sink="queue"|"http"}` are
    /// created with it (the gateway passes its Prometheus factory). `onError` receives write and
    /// upload failures (the gateway logs them).
    public init(configuration: Configuration, metrics: (any MetricsFactory)? = nil,
                onError: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.configuration = configuration
        self.onError = onError
        ring = DecisionRing(capacity: configuration.ringSize)
        queue = RecordQueue(capacity: configuration.queueSize, batchSize: configuration.batchSize, overflow: configuration.overflow)
        encoder = RecordEncoder(masks: configuration.masks, labels: configuration.labels)
        if let f = configuration.file {
            file = try RotatingFile(path: f.path, maxSize: f.maxSize, maxFiles: f.maxFiles)
        } else {
            file = nil
        }
        if let metrics {
            droppedCounter = CoreMetrics.Counter(label: "portcullis_decision_logs_dropped_total", dimensions: [("sink", "queue")], factory: metrics)
            httpDroppedCounter = CoreMetrics.Counter(label: "portcullis_decision_logs_dropped_total", dimensions: [("sink", "http")], factory: metrics)
        } else {
            droppedCounter = nil
            httpDroppedCounter = nil
        }
        let httpDropped = httpDroppedCounter
        sink = configuration.http.map {
            HTTPDecisionSink(configuration: $0, onError: onError, onDrop: { httpDropped?.increment(by: Int64($0)) })
        }
    }

    /// Starts the writer thread (once).
    public func start() {
        lock.lock()
        defer { lock.unlock() }
        guard writer == nil else { return }
        let thread = Thread { [self] in writeLoop() }
        thread.name = "decision-log-writer"
        writer = thread
        thread.start()
    }

    /// The request path: hands the record over. Never throws and, with `overflow: drop`, never
    /// waits; a record that does not fit is counted in `statistics.dropped` and the metric.
    @inline(__always) public func log(_ record: consuming DecisionRecord) {
        if !queue.push(record) { droppedCounter?.increment() }
    }

    /// Returns once every record logged before the call is written (and in the ring).
    public func flush() {
        lock.lock(); let running = writer != nil; lock.unlock()
        guard running, !shutDown.load(ordering: .acquiring) else { return }
        queue.waitUntilDone()
    }

    /// Writes everything accepted, stops the writer, closes the file. Idempotent. The HTTP sink
    /// uploads its remainder from `run()` (which returns afterwards).
    public func shutdown() {
        guard !shutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        queue.close()
        lock.lock(); let running = writer != nil; lock.unlock()
        if running { writerDone.wait() } else { drain() }
        file?.closeFile()
        drained.store(true, ordering: .releasing)
    }

    /// Drives the HTTP sink until `shutdown()` (returns at once without one). Cancellation
    /// shuts the logger down, uploads what is left (one more attempt per batch), and returns.
    public func run() async {
        guard let sink else {
            await withTaskCancellationHandler {
                while !shutDown.load(ordering: .acquiring), !Task.isCancelled { try? await Task.sleep(nanoseconds: 200_000_000) }
            } onCancel: { [self] in shutdown() }
            return
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let interval = configuration.flushInterval
        await withTaskCancellationHandler {
            await sink.run(client: client, interval: interval) { [self] in drained.load(ordering: .acquiring) }
        } onCancel: { [self] in shutdown() }
        try? await client.shutdown()
    }

    public var statistics: Statistics {
        let counts = queue.counts
        lock.lock()
        defer { lock.unlock() }
        let http = sink?.snapshot ?? HTTPDecisionSink.Counts()
        return Statistics(accepted: counts.accepted, dropped: counts.dropped, written: written, writeFailures: writeFailures,
                          rotations: file?.rotations ?? 0, httpSent: http.sent, httpDropped: http.dropped,
                          httpFailedUploads: http.failedUploads)
    }

    // MARK: writer thread

    private func writeLoop() {
        #if os(Linux)
        // SCHED_BATCH: the writer keeps its share of CPU, but a waking event loop is not made to
        // wait behind it on a shared core (the wake-up preference goes to the request path).
        var parameters = sched_param()
        parameters.sched_priority = 0
        let schedBatch: Int32 = 3  // SCHED_BATCH in <sched.h>, which Glibc's module map leaves out
        _ = pthread_setschedparam(pthread_self(), schedBatch, &parameters)
        #endif
        while let batch = queue.take(interval: configuration.flushInterval) {
            if batch.isEmpty { continue }
            process(batch)
        }
        writerDone.signal()
    }

    /// Without a writer thread (never started): what is pending, on the caller's thread.
    private func drain() {
        while let batch = queue.take(interval: 0), !batch.isEmpty { process(batch) }
    }

    private func process(_ batch: [DecisionRecord]) {
        var ok = 0, failed = 0
        for record in batch {
            let prepared = encoder.prepare(record)
            ring.append(DecisionRing.Entry(summary: prepared.summary, json: prepared.json))
            sink?.enqueue(prepared.json)
            guard let file else { ok += 1; continue }
            do { try file.append(prepared.json); ok += 1 } catch {
                failed += 1
                onError("decision log: \(error)")
            }
        }
        if let file {
            do { try file.flush() } catch {
                // The buffered lines of this batch are lost: count them as failures.
                onError("decision log: \(error)")
                failed += ok
                ok = 0
            }
        }
        lock.lock()
        written += UInt64(ok)
        writeFailures += UInt64(failed)
        lock.unlock()
        queue.complete(batch.count)
    }
}
