import JOSE
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// `portcullis idp`: a Keycloak-compatible issuer for one realm, on one listener
/// (docs/DEV_IDP.md). For development and tests only: passwords come in plain text from the
/// realm file and keys live in memory.
public final class DevIdPServer: Sendable {
    public struct Configuration: Sendable {
        public var realm: Realm
        public var host: String
        public var port: Int
        /// The base URL clients use (`issuer` = this + `/realms/<realm>`); default `http://<host>:<port>`.
        public var publicURL: String?
        public var keys: SigningKeys
        /// Overrides the realm's and clients' access token lifespans, in seconds.
        public var tokenLifespan: Int?
        /// Serve `/admin/test/...` (key rotation, JWKS failures); 404 otherwise.
        public var testAdmin: Bool
        /// One line per token issued or refused and per key rotation.
        public var log: @Sendable (String) -> Void
        /// Seconds since the epoch (tests move it).
        public var clock: @Sendable () -> Double

        public init(realm: Realm, host: String = "127.0.0.1", port: Int = 8180, publicURL: String? = nil, keys: SigningKeys,
                    tokenLifespan: Int? = nil, testAdmin: Bool = false, log: @escaping @Sendable (String) -> Void = { _ in },
                    clock: @escaping @Sendable () -> Double = { ClaimsPolicy.now() }) {
            self.realm = realm
            self.host = host
            self.port = port
            self.publicURL = publicURL
            self.keys = keys
            self.tokenLifespan = tokenLifespan
            self.testAdmin = testAdmin
            self.log = log
            self.clock = clock
        }
    }

    public struct Started: Sendable {
        public let issuer: String
        /// `host:port` as bound (the real port when 0 was asked for).
        public let address: String
        public let port: Int
    }

    private let configuration: Configuration
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let routes = Mutex<IdPRoutes?>(nil)
    private let channel = Mutex<Channel?>(nil)

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Binds the listener; the issuer URL is known once the port is.
    public func start() async throws -> Started {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    try sync.addHandler(IdPRequestHandler(routes: { [self] in self.routes.withLock { $0 } }))
                }
            }
            .bind(host: configuration.host, port: configuration.port).get()
        let port = server.localAddress?.port ?? configuration.port
        let hostPart = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        let base = (configuration.publicURL ?? "http://\(hostPart):\(port)").trimmingSuffix("/")
        let issuer = base + "/realms/" + configuration.realm.name
        let minter = TokenMinter(realm: configuration.realm, issuer: issuer, keys: configuration.keys,
                                 lifespanOverride: configuration.tokenLifespan, clock: configuration.clock)
        routes.withLock {
            $0 = IdPRoutes(realm: configuration.realm, issuer: issuer, keys: configuration.keys, minter: minter,
                           testAdmin: configuration.testAdmin, log: configuration.log)
        }
        channel.withLock { $0 = server }
        return Started(issuer: issuer, address: "\(hostPart):\(port)", port: port)
    }

    /// Closes the listener and every connection.
    public func stop() async {
        let server = channel.withLock { channel in
            defer { channel = nil }
            return channel
        }
        try? await server?.close()
        try? await group.shutdownGracefully()
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
