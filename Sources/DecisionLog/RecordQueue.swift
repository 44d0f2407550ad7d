#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `DecisionLogger.log` does when the queue is full.
public enum OverflowPolicy: String, Sendable, CaseIterable {
    /// The record is dropped and counted (`decision_logs_dropped_total`): the request never waits.
    case drop
    /// The producer waits for space. Safe on an event-loop thread because the writer thread never
    /// needs an event loop to make progress (it only encodes and writes to a file); the cost is
    /// that every request on that loop waits while the disk is slower than the traffic.
    case block
}

/// The bounded hand-over from request threads to the writer thread: a mutex-protected array.
/// A producer takes the lock for a move into the array and signals the writer only when a batch
/// is full (or it waits for space), so the usual enqueue is two uncontended atomic operations and
/// no system call; the writer otherwise wakes every flush interval.
final class RecordQueue: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Signalled for the writer: a batch is full, a flush or shutdown was asked for.
    private let wakeWriter = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Broadcast by the writer after each batch: producers waiting for space, flush waiters.
    private let progress = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    let capacity: Int
    let batchSize: Int
    let overflow: OverflowPolicy
    private var pending: [DecisionRecord] = []
    private var spare: [DecisionRecord] = []
    private(set) var accepted: UInt64 = 0
    private(set) var dropped: UInt64 = 0
    private var completed: UInt64 = 0
    private var flushRequests = 0
    private(set) var closed = false

    init(capacity: Int, batchSize: Int, overflow: OverflowPolicy) {
        self.capacity = max(capacity, 1)
        self.batchSize = max(1, min(batchSize, self.capacity))
        self.overflow = overflow
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if os(Linux)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(wakeWriter, &attributes)
        pthread_cond_init(progress, nil)
        pthread_condattr_destroy(&attributes)
        pending.reserveCapacity(self.capacity)
        spare.reserveCapacity(self.capacity)
    }

    deinit {
        pthread_cond_destroy(progress); progress.deallocate()
        pthread_cond_destroy(wakeWriter); wakeWriter.deallocate()
        pthread_mutex_destroy(mutex); mutex.deallocate()
    }

    /// Adds a record; false when it was dropped (queue full with `.drop`, or closed).
    func push(_ record: consuming DecisionRecord) -> Bool {
        pthread_mutex_lock(mutex)
        while pending.count >= capacity, overflow == .block, !closed {
            pthread_cond_signal(wakeWriter)
            pthread_cond_wait(progress, mutex)
        }
        guard pending.count < capacity, !closed else {
            dropped &+= 1
            pthread_mutex_unlock(mutex)
            return false
        }
        pending.append(record)
        accepted &+= 1
        if pending.count == batchSize { pthread_cond_signal(wakeWriter) }
        pthread_mutex_unlock(mutex)
        return true
    }

    /// For the writer: waits until a batch is full, a flush or shutdown is asked for, or
    /// `interval` seconds passed; returns what is pending (possibly nothing). nil once closed
    /// and empty.
    func take(interval: Double) -> [DecisionRecord]? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        var deadline = Self.deadline(after: interval)
        while !closed, pending.count < batchSize, flushRequests == 0 || pending.isEmpty {
            if pthread_cond_timedwait(wakeWriter, mutex, &deadline) == ETIMEDOUT { break }
        }
        if pending.isEmpty { return closed ? nil : [] }
        swap(&pending, &spare)
        let batch = spare
        spare.removeAll(keepingCapacity: true)
        // Producers waiting for space (`block`) may go on now, not only after the batch is written.
        if overflow == .block { pthread_cond_broadcast(progress) }
        return batch
    }

    /// For the writer: `count` records taken earlier are done (written or failed).
    func complete(_ count: Int) {
        pthread_mutex_lock(mutex)
        completed &+= UInt64(count)
        pthread_cond_broadcast(progress)
        pthread_mutex_unlock(mutex)
    }

    /// Waits until every record accepted before the call is done.
    func waitUntilDone() {
        pthread_mutex_lock(mutex)
        let target = accepted
        flushRequests += 1
        pthread_cond_signal(wakeWriter)
        while completed < target { pthread_cond_wait(progress, mutex) }
        flushRequests -= 1
        pthread_mutex_unlock(mutex)
    }

    /// No more records are accepted; the writer drains what is pending and stops.
    func close() {
        pthread_mutex_lock(mutex)
        closed = true
        pthread_cond_signal(wakeWriter)
        pthread_cond_broadcast(progress)
        pthread_mutex_unlock(mutex)
    }

    var counts: (accepted: UInt64, dropped: UInt64, completed: UInt64, pending: Int) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return (accepted, dropped, completed, pending.count)
    }

    private static func deadline(after seconds: Double) -> timespec {
        var now = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_MONOTONIC, &now)
        #else
        clock_gettime(CLOCK_REALTIME, &now)
        #endif
        let total = Int(now.tv_nsec) + Int(seconds * 1e9)
        return timespec(tv_sec: now.tv_sec + total / 1_000_000_000, tv_nsec: total % 1_000_000_000)
    }
}
