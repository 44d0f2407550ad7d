import DecisionLog
import Foundation
import GatewayConfig
import Identity
import JOSE
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import PolicyStore
import RegoLite
import ServiceLifecycle
import UnixSignals

/// `portcullis serve`: the traffic listener, the admin listener, the issuers' key loops, reload on
/// SIGHUP or `POST /v1/config/reload`, and graceful shutdown (a `Service` for
/// swift-service-lifecycle: stop accepting, let in-flight requests finish up to
/// `shutdown_grace`, then close what is left).
public final class Gateway: Service, Sendable {
    /// Where the listeners are bound (port 0 in the file gives the real port here).
    public struct BoundAddresses: Sendable {
        public let traffic: SocketAddress
        public let admin: SocketAddress
    }

    let core: GatewayCore
    let group: MultiThreadedEventLoopGroup
    private let configPath: String?
    private let environment: [String: String]
    private let reloadLock = NIOLock()
    private let lastReload = NIOLockedValueBox<(at: Date, error: String?)?>(nil)
    private let boundPromise: EventLoopPromise<BoundAddresses>
    /// Keeps the policy in force up to date with `policy.git` (nil for a directory, loaded here).
    let syncer: PolicySyncer?
    public let startedAt = Date()
    public static let version = "0.5.0"

    /// Validates everything, loads the policy once (a failure is reported, not fatal: the gateway
    /// then answers 503 `policy_unavailable` where a policy is required), binds nothing yet.
    public init(configuration: GatewayConfiguration, configPath: String? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) throws {
        let runtime = try RuntimeConfig(configuration, revision: 1)
        let workers = configuration.workers > 0 ? configuration.workers : System.coreCount
        group = MultiThreadedEventLoopGroup(numberOfThreads: workers)
        let issuers = try configuration.issuers.map { try IssuerSettings.issuerConfig($0) }
        let authenticator = issuers.isEmpty ? nil : Authenticator(issuers: issuers)
        let policy = CurrentPolicy()
        let metrics = GatewayMetrics()
        let decisionLog = try configuration.decisionLog.map {
            try DecisionLogger(configuration: try Self.decisionLogConfiguration($0), metrics: metrics.factory, onError: { message in
                logger.error("decision log", metadata: ["error": "\(message)"])
            })
        }
        let core = GatewayCore(config: runtime, authenticator: authenticator, policy: policy, metrics: metrics,
                               logger: logger, decisionLog: decisionLog, eventLoops: Array(group.makeIterator()))
        self.core = core
        if let git = configuration.policy.git {
            let syncer = PolicySyncer(source: .git(Self.gitSource(git)), policy: policy, queries: { core.config.policyQueries },
                                      metrics: metrics.factory, observer: { outcome in
                                          Self.logSync(outcome, logger: logger)
                                      })
            // A restart while the Git server is unreachable serves the last good revision at once.
            if syncer.restorePersisted() {
                logger.info("policy restored from the cache", metadata: ["revision": "\(policy.snapshot?.revision ?? "none")"])
            }
            self.syncer = syncer
        } else {
            syncer = nil
        }
        self.configPath = configPath
        self.environment = environment
        boundPromise = group.next().makePromise(of: BoundAddresses.self)
        loadPolicy(configuration: configuration, queries: runtime.policyQueries)
    }

    /// Resolves once both listeners are bound.
    public var addresses: EventLoopFuture<BoundAddresses> { boundPromise.futureResult }

    public func run() async throws {
        // Released before the event loops stop: its deinit completes a promise on one of them.
        var quiesceHelper: ServerQuiescingHelper? = ServerQuiescingHelper(group: group)
        let configuration = core.config.configuration
        // The decision-log writer and its upload sink live until the connections have drained.
        core.decisionLog?.start()
        let logTask: Task<Void, Never>? = core.decisionLog.map { log in Task { await log.run() } }
        let traffic: Channel
        let admin: Channel
        do {
            traffic = try await bindTraffic(configuration, quiesce: quiesceHelper!)
            admin = try await bindAdmin(configuration)
        } catch {
            boundPromise.fail(error)
            quiesceHelper = nil
            try? await group.shutdownGracefully()
            throw error
        }
        let addresses = BoundAddresses(traffic: traffic.localAddress!, admin: admin.localAddress!)
        boundPromise.succeed(addresses)
        core.logger.info("portcullis listening", metadata: [
            "traffic": "\(addresses.traffic)", "admin": "\(addresses.admin)",
            "routes": "\(configuration.routes.count)", "policy_revision": "\(core.policy.snapshot?.revision ?? "none")",
        ])

        await withTaskGroup(of: Void.self) { tasks in
            if let authenticator = core.authenticator {
                tasks.addTask { await authenticator.run() }
            }
            if let syncer {
                tasks.addTask { try? await syncer.run() }
            }
            tasks.addTask { [self] in
                for await _ in await UnixSignalsSequence(trapping: .sighup) {
                    let outcome = await reload()
                    if let error = outcome.error {
                        core.logger.error("reload on SIGHUP refused; the running configuration stays", metadata: ["error": "\(error)"])
                    }
                }
            }
            try? await gracefulShutdown()
            tasks.cancelAll()
        }

        // Graceful shutdown: stop accepting, finish in-flight requests, then close the rest.
        core.logger.info("shutting down: draining connections", metadata: ["grace_seconds": "\(configuration.shutdownGrace)"])
        let drained = group.next().makePromise(of: Void.self)
        quiesceHelper?.initiateShutdown(promise: drained)
        let deadline = group.next().scheduleTask(in: .nanoseconds(Int64(configuration.shutdownGrace * 1e9))) {
            drained.succeed(())
        }
        try? await drained.futureResult.get()
        deadline.cancel()
        try? await admin.close()
        for pool in core.allPools { try? await pool.eventLoop.submit { pool.closeAll() }.get() }
        try? await core.authenticator?.shutdown()
        // Every record accepted before now is written (and uploaded) before the process exits.
        core.decisionLog?.shutdown()
        logTask?.cancel()
        await logTask?.value
        quiesceHelper = nil
        try? await group.shutdownGracefully()
        core.logger.info("portcullis stopped")
    }

    private func bindTraffic(_ configuration: GatewayConfiguration, quiesce: ServerQuiescingHelper) async throws -> Channel {
        let core = self.core
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    // FrontHandler reads requests from bytes itself (RequestDecoder, strict HTTP/1),
                    // orders pipelined requests and handles quiescing. Responses are written as bytes
                    // (no response encoder: proxied heads are copied field lines; every value the
                    // gateway makes is checked where it is made: HeaderRules.isSafeValue, token names).
                    try sync.addHandler(FrontHandler(core: core))
                    core.metrics.connectionOpened()
                    channel.closeFuture.whenComplete { _ in core.metrics.connectionClosed() }
                }
            }
            .bind(host: configuration.listen.host, port: configuration.listen.port).get()
    }

    private func bindAdmin(_ configuration: GatewayConfiguration) async throws -> Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    try sync.addHandler(AdminHandler(gateway: self))
                }
            }
            .bind(host: configuration.admin.host, port: configuration.admin.port).get()
    }

    // MARK: policy and reload

    /// The first policy load, at start: a failure is recorded and reported, not fatal.
    private func loadPolicy(configuration: GatewayConfiguration, queries: [String]) {
        guard let directory = configuration.policy.directory else { return }
        do {
            core.policy.install(try PolicySnapshot.load(directory: directory, queries: queries))
        } catch {
            core.policy.recordFailure("\(error)")
            core.logger.error("policy not loaded", metadata: ["directory": "\(directory)", "error": "\(error)"])
        }
    }

    public struct ReloadOutcome: Sendable {
        public var configRevision: Int
        public var policyRevision: String?
        /// Why the reload was refused (the running configuration and policy stay).
        public var error: String?
    }

    /// Re-reads routes.yaml and the policy: validated first, swapped atomically; requests in
    /// flight keep what they started with. Anything invalid leaves everything as it was.
    public func reload() async -> ReloadOutcome {
        let outcome: ReloadOutcome = reloadLock.withLock { reloadNow() }
        lastReload.withLockedValue { $0 = (Date(), outcome.error) }
        if outcome.error == nil {
            core.logger.info("configuration reloaded", metadata: ["revision": "\(outcome.configRevision)",
                                                                  "policy_revision": "\(outcome.policyRevision ?? "none")"])
        }
        return outcome
    }

    private func reloadNow() -> ReloadOutcome {
        let running = core.config
        func refused(_ message: String) -> ReloadOutcome {
            ReloadOutcome(configRevision: running.revision, policyRevision: core.policy.snapshot?.revision, error: message)
        }
        guard let configPath else { return refused("the gateway was not started from a file") }
        let configuration: GatewayConfiguration
        do {
            configuration = try ConfigLoader.load(path: configPath, environment: environment)
        } catch {
            return refused("\(error)")
        }
        if configuration.issuers != running.configuration.issuers {
            return refused("issuers changed: restart the gateway to apply issuer changes")
        }
        if configuration.listen != running.configuration.listen || configuration.admin != running.configuration.admin
            || configuration.workers != running.configuration.workers {
            return refused("listeners or workers changed: restart the gateway to apply them")
        }
        if configuration.policy.git != running.configuration.policy.git {
            return refused("the policy source changed: restart the gateway to apply a new Git source")
        }
        if configuration.decisionLog != running.configuration.decisionLog {
            return refused("decision_log changed: restart the gateway to apply it")
        }
        let revision = running.revision + 1
        let runtime: RuntimeConfig
        do { runtime = try RuntimeConfig(configuration, revision: revision) } catch { return refused("\(error)") }
        if let directory = configuration.policy.directory {
            do {
                let snapshot = try PolicySnapshot.load(directory: directory, queries: runtime.policyQueries)
                core.policy.install(snapshot)
            } catch {
                core.policy.recordFailure("\(error)")
                return refused("policy: \(error)")
            }
        }
        core.install(runtime)
        if let syncer {
            // Routes may name new queries: prepare them on the revision in force.
            do { try syncer.prepareQueries() } catch { core.logger.error("policy queries not prepared", metadata: ["error": "\(error)"]) }
        }
        return ReloadOutcome(configRevision: revision, policyRevision: core.policy.snapshot?.revision, error: nil)
    }

    // MARK: policy sync and decision log settings

    /// routes.yaml's `policy.git` as PolicyStore's Git source (also `portcullis policy sync`).
    public static func gitSource(_ git: GitPolicySpec) -> GitSourceConfiguration {
        var source = GitSourceConfiguration(url: git.url, cacheDirectory: git.cacheDirectory)
        source.branch = git.branch
        source.path = git.path
        source.pollInterval = git.pollInterval
        source.requireTestsPass = git.requireTestsPass
        source.timeout = git.timeout
        return source
    }

    static func decisionLogConfiguration(_ spec: DecisionLogSpec) throws -> DecisionLogger.Configuration {
        var c = DecisionLogger.Configuration()
        c.file = spec.file.map {
            var f = DecisionLogger.Configuration.File(path: $0.path)
            f.maxSize = $0.maxSize
            f.maxFiles = $0.maxFiles
            return f
        }
        c.queueSize = spec.queueSize
        c.overflow = spec.overflow == .block ? .block : .drop
        c.batchSize = spec.batchSize
        c.flushInterval = spec.flushInterval
        c.ringSize = spec.ringSize
        c.masks = try spec.masks.map { mask in
            switch mask.operation {
            case .erase: return try MaskRule(.erase, pointer: mask.path)
            case .upsert: return try MaskRule(.upsert(try JSONReader.parse(mask.valueJSON ?? "null")), pointer: mask.path)
            }
        }
        c.labels = [.init("id", instanceID), .init("version", version)]
        c.http = spec.http.map {
            var h = HTTPSinkConfiguration(url: $0.url)
            h.batchSize = $0.batchSize
            h.timeout = $0.timeout
            h.maxRetries = $0.maxRetries
            h.headers = $0.headers.map { HTTPSinkConfiguration.Header(name: $0.name, value: $0.value) }
            return h
        }
        return c
    }

    /// OPA's `labels.id`: this process (host name and process id).
    static let instanceID = "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"

    static func logSync(_ outcome: SyncOutcome, logger: Logger) {
        switch outcome.result {
        case .activated:
            logger.info("policy activated", metadata: ["revision": "\(outcome.revision ?? "?")"])
        case .unchanged, .skippedRefused:
            logger.debug("policy unchanged", metadata: ["revision": "\(outcome.revision ?? "?")"])
        default:
            logger.error("policy revision refused; the last good one keeps serving", metadata: [
                "result": "\(outcome.result.rawValue)", "revision": "\(outcome.revision ?? "?")", "error": "\(outcome.error ?? "")",
            ])
        }
    }

    var lastReloadState: (at: Date, error: String?)? { lastReload.withLockedValue { $0 } }

    /// Ready: a policy is loaded where one is required, and every required issuer has keys.
    func readiness() -> (ready: Bool, checks: [(String, Bool, String)]) {
        var checks: [(String, Bool, String)] = []
        let configuration = core.config.configuration
        let needsPolicy = configuration.policy.required && core.config.router.routes.contains { $0.policyMode != .off }
        if let snapshot = core.policy.snapshot {
            checks.append(("policy", true, "revision \(snapshot.revision)"))
        } else {
            checks.append(("policy", !needsPolicy, needsPolicy ? "no policy loaded" : "no policy loaded (not required)"))
        }
        if let authenticator = core.authenticator {
            let required = Set(configuration.issuers.filter(\.required).map(\.issuer))
            for state in authenticator.states() {
                let isRequired = required.contains(state.issuer)
                let detail = state.usable ? "\(state.keyIDs.count) keys" : (state.lastError ?? "keys not fetched yet")
                checks.append(("issuer \(state.issuer)", state.usable || !isRequired, detail))
            }
        }
        return (checks.allSatisfy { $0.1 }, checks)
    }
}
