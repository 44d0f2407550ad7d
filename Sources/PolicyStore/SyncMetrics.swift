import CoreMetrics
import Foundation
import Synchronization

/// The syncer's Prometheus series (through swift-metrics, with the gateway's factory).
final class SyncMetrics: Sendable {
    let factory: any MetricsFactory
    let activations: [SyncOutcome.Result: CoreMetrics.Counter]
    let lastSuccess: CoreMetrics.Gauge
    let revisionGauge = Mutex<(String, CoreMetrics.Gauge)?>(nil)

    init(_ factory: any MetricsFactory) {
        self.factory = factory
        var counters: [SyncOutcome.Result: CoreMetrics.Counter] = [:]
        for result in SyncOutcome.Result.allCases {
            counters[result] = CoreMetrics.Counter(label: "portcullis_policy_activations_total", dimensions: [("result", result.rawValue)], factory: factory)
        }
        activations = counters
        lastSuccess = CoreMetrics.Gauge(label: "portcullis_policy_last_success_timestamp_seconds", dimensions: [], factory: factory)
    }

    func record(_ result: SyncOutcome.Result, at date: Date) {
        activations[result]?.increment()
        if result == .activated || result == .unchanged { lastSuccess.record(date.timeIntervalSince1970) }
    }

    /// `policy_revision_info{revision="<sha>"} 1` for the revision in force only.
    func revisionChanged(from previous: String?, to revision: String) {
        revisionGauge.withLock { current in
            if let (old, gauge) = current, old != revision { gauge.destroy() }
            let gauge = CoreMetrics.Gauge(label: "portcullis_policy_revision_info", dimensions: [("revision", revision)], factory: factory)
            gauge.record(1)
            current = (revision, gauge)
        }
    }
}
