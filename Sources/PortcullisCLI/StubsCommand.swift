import ArgumentParser
import Logging
import ServiceLifecycle
import Stubs

/// `portcullis stubs`: the seed's upstream services for demos and E2E tests (docs/DEV_IDP.md).
struct StubsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stubs",
        abstract: "Run the upstream stub services (device, command, data-ingest, analytics, notification, auth, ws-hub).",
        discussion: """
            Service i listens on base-port + i, in the order above (the root routes.yaml expects base 9101).
            Prints one line per service: "stubs: <service> listening on <addr>". SIGTERM/SIGINT stop them (exit 0).
            """,
        version: Portcullis.version
    )

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port of the first service (device); the others follow.")
    var basePort: Int = 9101

    func validate() throws {
        guard (1...(65535 - StubServices.serviceNames.count + 1)).contains(basePort) else {
            throw ValidationError("--base-port must leave room for \(StubServices.serviceNames.count) consecutive ports")
        }
    }

    func run() async throws {
        bootstrapStandardErrorLogging(level: .notice)
        let logger = Logger(label: "portcullis.stubs")
        let stubs = StubServices(host: host, basePort: basePort)
        let listening: [StubServices.Listening]
        do {
            listening = try await stubs.start()
        } catch {
            FileOutput.standardError.write("error: cannot listen on \(host) ports \(basePort)...\(basePort + StubServices.serviceNames.count - 1): \(error)\n")
            throw ExitCode(2)
        }
        for entry in listening {
            FileOutput.standardOutput.write("stubs: \(entry.service) listening on \(entry.address)\n")
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: StoppableServer(stop: { await stubs.stop() }))],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
