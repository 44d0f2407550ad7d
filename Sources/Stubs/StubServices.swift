import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// `portcullis stubs`: the seed system's services, each on its own port counted from the base
/// port in the order of the root routes.yaml (docs/DEV_IDP.md, "Upstream stubs").
public final class StubServices: Sendable {
    /// Service names in port order: device is `base + 0`, ws-hub is `base + 6`.
    public static let serviceNames = ["device", "command", "data-ingest", "analytics", "notification", "auth", "ws-hub"]

    public struct Listening: Sendable {
        public let service: String
        /// `host:port` as bound.
        public let address: String
        public let port: Int
    }

    private let host: String
    private let basePort: Int
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channels = Mutex<[Channel]>([])

    public init(host: String = "127.0.0.1", basePort: Int = 9101) {
        self.host = host
        self.basePort = basePort
    }

    static func makeServices() -> [StubService] {
        [DeviceService(), CommandService(), IngestService(), AnalyticsService(), NotificationService(), AuthService(),
         WebSocketHubService()]
    }

    /// Binds every service (all or none: a port already taken stops those bound so far).
    /// `basePort` 0 binds each service to a free port of the system's choosing (tests).
    public func start() async throws -> [Listening] {
        var listening: [Listening] = []
        do {
            for (index, service) in Self.makeServices().enumerated() {
                let channel = try await bind(service, port: basePort == 0 ? 0 : basePort + index)
                channels.withLock { $0.append(channel) }
                let port = channel.localAddress?.port ?? 0
                let hostPart = host.contains(":") ? "[\(host)]" : host
                listening.append(Listening(service: service.name, address: "\(hostPart):\(port)", port: port))
            }
        } catch {
            await stop()
            throw error
        }
        return listening
    }

    private func bind(_ service: StubService, port: Int) async throws -> Channel {
        let isHub = service is WebSocketHubService
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if isHub {
                        let upgrade: NIOHTTPServerUpgradeSendableConfiguration = (
                            upgraders: [WebSocketEchoHandler.upgrader()],
                            completionHandler: { context in
                                context.pipeline.removeHandler(name: StubHTTPHandler.name, promise: nil)
                            })
                        try sync.configureHTTPServerPipeline(withServerUpgrade: upgrade, withErrorHandling: true)
                    } else {
                        try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    }
                    try sync.addHandler(StubHTTPHandler(service: service), name: StubHTTPHandler.name)
                }
            }
            .bind(host: host, port: port).get()
    }

    /// Closes every listener and connection.
    public func stop() async {
        let open = channels.withLock { channels in
            defer { channels = [] }
            return channels
        }
        for channel in open { try? await channel.close() }
        try? await group.shutdownGracefully()
    }
}
