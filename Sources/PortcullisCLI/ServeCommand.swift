import ArgumentParser
import Foundation
import Gateway
import GatewayConfig
import Logging
import ServiceLifecycle

/// `portcullis serve --config routes.yaml`: the gateway (docs/OPERATIONS.md).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway: traffic and admin listeners from routes.yaml.",
        discussion: """
            SIGTERM/SIGINT: stop accepting, let in-flight requests finish (shutdown_grace), exit 0.
            SIGHUP or POST /v1/config/reload on the admin listener: reload routes.yaml and the policy;
            an invalid file keeps the running configuration. Switches: AUTH_REQUIRED, AUTHZ_REQUIRED,
            OPA_REQUIRED (docs/ROUTES.md). Exit status 2 when the configuration is invalid.
            """,
        version: Portcullis.version
    )

    @Option(name: .long, help: "The gateway configuration (routes.yaml).")
    var config: String = "routes.yaml"

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else { throw UsageError("unknown log level \(logLevel)") }
        bootstrapStandardErrorLogging(level: level)
        let logger = Logger(label: "portcullis")
        let configuration: GatewayConfiguration
        do {
            configuration = try ConfigLoader.load(path: config)
        } catch {
            FileOutput.standardError.write("\(error)\n")
            throw ExitCode(2)
        }
        let gateway: Gateway
        do {
            gateway = try Gateway(configuration: configuration, configPath: config, logger: logger)
        } catch {
            FileOutput.standardError.write("\(config): \(error)\n")
            throw ExitCode(2)
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: gateway)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            FileOutput.standardError.write("portcullis serve: \(error)\n")
            throw ExitCode(1)
        }
    }
}

/// `portcullis config check FILE`.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check gateway configuration files.",
        version: Portcullis.version,
        subcommands: [Check.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate routes.yaml: every problem with file:line:col.",
            discussion: "Exit status: 0 when valid, 1 when the file has problems, 2 on a usage error. The environment switches are checked too.",
            version: Portcullis.version
        )

        @Argument(help: "The configuration file.")
        var file: String

        func run() throws {
            do {
                let configuration = try ConfigLoader.load(path: file)
                FileOutput.standardOutput.write("ok: \(configuration.routes.count) routes, \(configuration.issuers.count) issuers\n")
            } catch {
                FileOutput.standardError.write("\(error)\n")
                throw ExitCode(1)
            }
        }
    }
}
