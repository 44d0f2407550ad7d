import ArgumentParser
import Gateway
import GatewayConfig
import PolicyStore
import RegoLite

extension PolicyCommand {
    /// `portcullis policy sync --config routes.yaml`: one sync of the configured source, as the
    /// gateway would run it (same cache directory, same gates), without serving anything.
    struct Sync: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch, compile and test the configured policy source once (policy.git or policy.directory).",
            discussion: """
                Runs exactly what the gateway runs on each poll, using the configuration's cache directory:
                the last good bundle there is updated when the revision is activated. Prints the outcome
                and the sync status (--json: as the admin API will). Exit status: 0 activated or
                unchanged, 1 refused or not fetched, 2 on a usage or configuration error.
                """,
            version: Portcullis.version
        )

        @Option(help: "The gateway configuration (routes.yaml).")
        var config: String

        @Flag(help: "Print {\"outcome\": ..., \"status\": ...} as JSON.")
        var json = false

        func run() throws {
            let configuration: GatewayConfiguration
            do { configuration = try ConfigLoader.load(path: config) } catch {
                FileOutput.standardError.write("\(error)\n")
                throw ExitCode(2)
            }
            guard let source = Self.source(configuration.policy) else {
                FileOutput.standardError.write("\(config): no policy.git or policy.directory is configured\n")
                throw ExitCode(2)
            }
            let queries = Set([configuration.policy.defaultQuery] + configuration.routes.compactMap(\.policy.query)).sorted()
            let syncer = PolicySyncer(source: source, policy: CurrentPolicy(), queries: { queries })
            // As a restarting gateway: the cached last good bundle first, then the source.
            syncer.restorePersisted()
            let outcome = syncer.syncNow()
            if json {
                let document = Value.object(RegoObject(pairs: [(.string("outcome"), outcome.json), (.string("status"), syncer.status.json)]))
                FileOutput.standardOutput.write(JSONWriter.write(document, pretty: true) + "\n")
            } else {
                var line = "\(outcome.result.rawValue)"
                if let revision = outcome.revision { line += " \(revision)" }
                line += " (\(source.description))"
                FileOutput.standardOutput.write(line + "\n")
                if let error = outcome.error { FileOutput.standardOutput.write("  \(error)\n") }
            }
            if outcome.result != .activated && outcome.result != .unchanged { throw ExitCode(1) }
        }

        /// routes.yaml's `policy` as a PolicyStore source, mapped as the gateway maps it.
        static func source(_ policy: PolicySpec) -> PolicySource? {
            if let git = policy.git { return .git(Gateway.gitSource(git)) }
            if let directory = policy.directory {
                return .directory(path: directory, pollInterval: nil, requireTestsPass: true)
            }
            return nil
        }
    }
}
