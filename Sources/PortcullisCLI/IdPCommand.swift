import ArgumentParser
import DevIdP
import JOSE
import Logging
import ServiceLifecycle

/// `portcullis idp --realm realms/systemupdate-dev.json`: the Keycloak-compatible dev issuer
/// (docs/DEV_IDP.md).
struct IdPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idp",
        abstract: "Run a Keycloak-compatible dev issuer (OIDC discovery, JWKS, password and client_credentials grants) from a realm export.",
        discussion: """
            FOR DEVELOPMENT AND TESTS ONLY: passwords and client secrets come in plain text from the realm file.
            Prints one line when listening: "idp: realm <R> issuer <URL> listening on <addr>".
            SIGTERM/SIGINT stop it (exit 0). Exit status 2 when the realm file or a key is refused.
            Endpoints, realm-file support and refusals: docs/DEV_IDP.md.
            """,
        version: Portcullis.version
    )

    @Option(help: "The Keycloak realm export (JSON).")
    var realm: String

    @Option(help: "Address to listen on (host:port; port 0 picks a free one).")
    var listen: ListenAddress = ListenAddress(argument: "127.0.0.1:8180")!

    @Option(name: .customLong("public-url"), help: "Base URL clients use; the issuer is <public-url>/realms/<realm>. Default: http://<listen>.")
    var publicURL: String?

    @Option(help: "Signing key file (PEM or private JWK, RSA). Repeatable: the first signs, the others are only published in the JWKS. Default: a fresh RSA 2048 key.")
    var key: [String] = []

    @Option(help: "Access token lifespan (e.g. 300s, 5m, 1h); overrides the realm's and clients' lifespans.")
    var tokenLifespan: DurationSeconds?

    @Flag(help: "Serve the test admin endpoints (/admin/test/rotate-key, /admin/test/jwks, /admin/test/state).")
    var testAdmin = false

    @Option(help: "trace, debug, info, notice, warning, error or critical. debug lists the realm file's ignored members.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown log level \(logLevel)") }
        if let publicURL {
            guard publicURL.hasPrefix("http://") || publicURL.hasPrefix("https://"), !publicURL.contains("?"), !publicURL.contains("#") else {
                throw ValidationError("--public-url must be an http(s) URL without query or fragment")
            }
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel)!
        bootstrapStandardErrorLogging(level: level)
        let logger = Logger(label: "portcullis.idp")
        let loaded: Realm
        do {
            loaded = try RealmLoader.load(path: realm)
        } catch {
            FileOutput.standardError.write("\(error)\n")
            throw ExitCode(2)
        }
        for warning in loaded.warnings { logger.warning("\(realm): \(warning)") }
        if !loaded.ignoredFields.isEmpty {
            // One entry per member name (`users[*].attributes`), not per user.
            var seen: Set<String> = []
            let names = loaded.ignoredFields.map { $0.replacing(/\[\d+\]/, with: "[*]") }.filter { seen.insert($0).inserted }
            logger.debug("\(realm): \(loaded.ignoredFields.count) members have no effect on tokens and are ignored",
                         metadata: ["ignored": .array(names.map { .string($0) })])
        }
        let keys: SigningKeys
        do {
            keys = key.isEmpty ? try SigningKeys() : try SigningKeys(keys: try key.map(loadPrivateKey))
        } catch let error as JOSEError {
            FileOutput.standardError.write("error: --key: \(error.message)\n")
            throw ExitCode(2)
        }

        let server = DevIdPServer(configuration: .init(
            realm: loaded, host: listen.host, port: listen.port, publicURL: publicURL, keys: keys,
            tokenLifespan: tokenLifespan?.seconds, testAdmin: testAdmin,
            log: { line in logger.info("\(line)") }))
        let started: DevIdPServer.Started
        do {
            started = try await server.start()
        } catch {
            FileOutput.standardError.write("error: cannot listen on \(listen.host):\(listen.port): \(error)\n")
            await server.stop()
            throw ExitCode(2)
        }
        if !["127.0.0.1", "::1", "localhost"].contains(listen.host) && !listen.host.hasPrefix("127.") {
            logger.warning("the dev issuer accepts plain-text passwords from its realm file and is listening beyond loopback on \(started.address)")
        }
        FileOutput.standardOutput.write("idp: realm \(loaded.name) issuer \(started.issuer) listening on \(started.address)\n")
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: StoppableServer(stop: { await server.stop() }))],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
