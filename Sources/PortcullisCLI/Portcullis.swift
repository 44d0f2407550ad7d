import ArgumentParser

/// The `portcullis` executable: every command of the product lives under it.
@main
struct Portcullis: AsyncParsableCommand {
    static let version = "0.5.0"

    static let configuration = CommandConfiguration(
        commandName: "portcullis",
        abstract: "A security gateway: JWT verification, in-process Rego policy, decision logs.",
        version: version,
        subcommands: [ServeCommand.self, ConfigCommand.self, TokenCommand.self, PolicyCommand.self, IdPCommand.self, StubsCommand.self, DecisionsCommand.self]
    )

    /// Exit statuses shared by every command: 0 success, 1 a negative answer (invalid token,
    /// failed test...), 2 a usage or input error. ArgumentParser's own 64 becomes 2.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileOutput.standardError.write(fullMessage(for: error) + "\n")
                exit(withError: ExitCode(2))
            }
            exit(withError: error)
        }
    }
}

/// An error the user can fix (bad file, bad option value): printed, exit status 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
