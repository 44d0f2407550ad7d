import CoreMetrics
import Foundation
import Identity
import Metrics
import NIOConcurrencyHelpers
import Prometheus

/// The gateway's metrics (swift-metrics API over a swift-prometheus registry owned by this
/// gateway, so several gateways in one process — tests — never share counters).
final class GatewayMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    /// Also handed to PolicyStore and DecisionLog for their own metrics (same registry).
    let factory: PrometheusMetricsFactory

    private struct RequestKey: Hashable { let route: String; let method: String; let status: Int }
    private let requestCounters = NIOLockedValueBox<[RequestKey: CoreMetrics.Counter]>([:])
    private let requestTimers = NIOLockedValueBox<[String: CoreMetrics.Timer]>([:])
    private let upstreamTimers = NIOLockedValueBox<[String: CoreMetrics.Timer]>([:])
    private let authFailureCounters = NIOLockedValueBox<[String: CoreMetrics.Counter]>([:])
    private let decisionCounters = NIOLockedValueBox<[String: CoreMetrics.Counter]>([:])
    private let jwtTimer: CoreMetrics.Timer
    private let policyTimer: CoreMetrics.Timer
    private let decisionCacheHits: CoreMetrics.Counter
    private let decisionCacheMisses: CoreMetrics.Counter
    private let connections: CoreMetrics.Meter
    private let tunnels: CoreMetrics.Meter
    /// Last seen totals of counters kept by other modules (key-set fetches, token cache), so the
    /// exported counters only ever grow by the difference.
    private let mirrored = NIOLockedValueBox<[String: Int]>([:])

    static let durationBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.durationBuckets
        self.factory = factory
        jwtTimer = CoreMetrics.Timer(label: "portcullis_jwt_verification_duration_seconds", dimensions: [], factory: factory)
        policyTimer = CoreMetrics.Timer(label: "portcullis_policy_evaluation_duration_seconds", dimensions: [], factory: factory)
        decisionCacheHits = CoreMetrics.Counter(label: "portcullis_decision_cache_hits_total", dimensions: [], factory: factory)
        decisionCacheMisses = CoreMetrics.Counter(label: "portcullis_decision_cache_misses_total", dimensions: [], factory: factory)
        connections = CoreMetrics.Meter(label: "portcullis_active_connections", dimensions: [], factory: factory)
        tunnels = CoreMetrics.Meter(label: "portcullis_active_tunnels", dimensions: [], factory: factory)
    }

    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"]

    func upstreamTimer(route: String) -> CoreMetrics.Timer {
        timer(upstreamTimers, "portcullis_upstream_duration_seconds", route)
    }

    /// The request counter and latency histogram of one route, method and status, looked up
    /// once. A connection keeps the last one it used: its requests mostly repeat them, and the
    /// lookup (a lock and a hash of the key) would otherwise run for every request.
    final class RequestSeries: Sendable {
        let route: String
        let method: String
        let status: Int
        fileprivate let counter: CoreMetrics.Counter
        fileprivate let timer: CoreMetrics.Timer

        fileprivate init(route: String, method: String, status: Int, counter: CoreMetrics.Counter, timer: CoreMetrics.Timer) {
            self.route = route
            self.method = method
            self.status = status
            self.counter = counter
            self.timer = timer
        }

        func matches(route: String, method: String, status: Int) -> Bool {
            self.status == status && self.route == route && self.method == method
        }
    }

    func requestSeries(route: String, method: String, status: Int) -> RequestSeries {
        let m = Self.knownMethods.contains(method) ? method : "OTHER"
        let key = RequestKey(route: route, method: m, status: status)
        let counter = requestCounters.withLockedValue { counters in
            if let c = counters[key] { return c }
            let c = CoreMetrics.Counter(label: "portcullis_requests_total",
                            dimensions: [("route", route), ("method", m), ("status", String(status))], factory: factory)
            counters[key] = c
            return c
        }
        return RequestSeries(route: route, method: method, status: status, counter: counter,
                             timer: timer(requestTimers, "portcullis_request_duration_seconds", route))
    }

    func request(_ series: RequestSeries, seconds: Double) {
        series.counter.increment()
        series.timer.recordSeconds(seconds)
    }

    func jwtVerification(seconds: Double) { jwtTimer.recordSeconds(seconds) }
    func policyEvaluation(seconds: Double) { policyTimer.recordSeconds(seconds) }
    /// A decision reused from the connection's cache (no evaluation), or a cacheable one evaluated.
    func decisionCacheHit() { decisionCacheHits.increment() }
    func decisionCacheMiss() { decisionCacheMisses.increment() }

    func authenticationFailure(code: String) {
        counter(authFailureCounters, "portcullis_authentication_failures_total", "code", code).increment()
    }

    /// `allow`, `deny`, `dry_run_deny`, `error`, `no_policy_allow`.
    func decision(_ result: String) {
        counter(decisionCounters, "portcullis_decisions_total", "result", result).increment()
    }

    func connectionOpened() { connections.increment() }
    func connectionClosed() { connections.decrement() }
    func tunnelOpened() { tunnels.increment() }
    func tunnelClosed() { tunnels.decrement() }

    /// Brings the mirrored counters up to date, then renders the Prometheus text format.
    func render(authenticator: Authenticator?) -> [UInt8] {
        if let authenticator {
            for state in authenticator.states() {
                for (outcome, count) in state.fetches {
                    mirror("portcullis_jwks_fetches_total", [("issuer", state.issuer), ("outcome", outcome)], count)
                }
            }
            let stats = authenticator.tokenCache.statistics
            mirror("portcullis_token_cache_hits_total", [], stats.hits)
            mirror("portcullis_token_cache_misses_total", [], stats.misses)
            mirror("portcullis_jwt_verifications_total", [], authenticator.verifications)
        }
        return registry.emitToBuffer()
    }

    private func mirror(_ label: String, _ dimensions: [(String, String)], _ total: Int) {
        let key = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        let delta = mirrored.withLockedValue { seen -> Int in
            let d = total - (seen[key] ?? 0)
            if d > 0 { seen[key] = total }
            return d
        }
        let counter = CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory)
        if delta > 0 { counter.increment(by: Int64(delta)) }
    }

    private func timer(_ box: NIOLockedValueBox<[String: CoreMetrics.Timer]>, _ label: String, _ route: String) -> CoreMetrics.Timer {
        box.withLockedValue { timers in
            if let t = timers[route] { return t }
            let t = CoreMetrics.Timer(label: label, dimensions: [("route", route)], factory: factory)
            timers[route] = t
            return t
        }
    }

    private func counter(_ box: NIOLockedValueBox<[String: CoreMetrics.Counter]>, _ label: String, _ dimension: String, _ value: String) -> CoreMetrics.Counter {
        box.withLockedValue { counters in
            if let c = counters[value] { return c }
            let c = CoreMetrics.Counter(label: label, dimensions: [(dimension, value)], factory: factory)
            counters[value] = c
            return c
        }
    }
}
