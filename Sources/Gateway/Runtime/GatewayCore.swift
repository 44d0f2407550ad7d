import Atomics
import DecisionLog
import Foundation
import GatewayConfig
import Identity
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PolicyStore

/// What every connection of the gateway shares: the configuration and policy in force (read
/// through atomic references), the authenticator, metrics, and one upstream pool per event loop.
final class GatewayCore: Sendable {
    private let currentConfig: ManagedAtomic<RuntimeConfig>
    let authenticator: Authenticator?
    let policy: CurrentPolicy
    let metrics: GatewayMetrics
    let logger: Logger
    /// Decision records (`decision_log` in routes.yaml); nil: none are kept.
    let decisionLog: DecisionLogger?
    /// Pools by event loop; built once at start, read-only afterwards.
    private let pools: [ObjectIdentifier: UpstreamPool]
    private let lastNoPolicyWarning = ManagedAtomic<Int64>(0)
    let activeTunnels = ManagedAtomic<Int>(0)

    init(config: RuntimeConfig, authenticator: Authenticator?, policy: CurrentPolicy, metrics: GatewayMetrics,
         logger: Logger, decisionLog: DecisionLogger?, eventLoops: [EventLoop]) {
        self.decisionLog = decisionLog
        self.currentConfig = ManagedAtomic(config)
        self.authenticator = authenticator
        self.policy = policy
        self.metrics = metrics
        self.logger = logger
        var pools: [ObjectIdentifier: UpstreamPool] = [:]
        for loop in eventLoops { pools[ObjectIdentifier(loop)] = UpstreamPool(eventLoop: loop) }
        self.pools = pools
    }

    @inline(__always) var config: RuntimeConfig { currentConfig.load(ordering: .acquiring) }

    func install(_ config: RuntimeConfig) { currentConfig.store(config, ordering: .releasing) }

    func pool(for loop: EventLoop) -> UpstreamPool {
        guard let pool = pools[ObjectIdentifier(loop)] else {
            preconditionFailure("no upstream pool for event loop \(loop)")
        }
        return pool
    }

    var allPools: [UpstreamPool] { Array(pools.values) }

    /// With `OPA_REQUIRED=0` and no policy, requests pass: say so at most once a minute.
    func warnNoPolicy() {
        let now = Int64(Date().timeIntervalSince1970)
        let last = lastNoPolicyWarning.load(ordering: .relaxed)
        if now - last >= 60, lastNoPolicyWarning.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged {
            logger.warning("no policy is loaded and policy.required is off (OPA_REQUIRED=0): requests are allowed without a decision")
        }
    }
}
