import Foundation

/// Where a Git-sourced policy comes from (routes.yaml `policy.git`, docs/POLICY_SYNC.md).
public struct GitSourceConfiguration: Sendable, Equatable {
    /// Anything `git fetch` accepts: https://, ssh://, git@host:path, file://. Credentials come
    /// from git's own configuration (credential helpers, `~/.git-credentials`) or the SSH agent.
    public var url: String
    public var branch: String = "main"
    /// The bundle's directory inside the repository ("" = the root).
    public var path: String = ""
    /// Seconds between polls.
    public var pollInterval: Double = 30
    /// Holds the fetched repository and the last good bundle (survives restarts).
    public var cacheDirectory: String
    /// Run the bundle's `*_test.rego` and refuse the revision if any fails.
    public var requireTestsPass: Bool = true
    /// Longest run of one git command (its process group is killed after it).
    public var timeout: Double = 60
    /// The git program.
    public var gitExecutable: String = "git"
    /// Every this many activations the cache's repository is garbage-collected (each depth-1
    /// fetch of a new commit adds its objects; older commits are never needed again).
    public var gcEveryActivations: Int = 100

    public init(url: String, cacheDirectory: String) {
        self.url = url
        self.cacheDirectory = cacheDirectory
    }
}

/// The cache's Git side: a bare repository fetched with depth 1, and a commit's tree written
/// to a directory with plumbing commands (a private index, no work tree, no checkout hooks).
struct GitRepository {
    let configuration: GitSourceConfiguration
    var gitDirectory: String { configuration.cacheDirectory + "/repo.git" }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private var runner: ProcessRunner {
        // Never prompt (no terminal is there to answer); git's own configuration (credential
        // helpers, system and user files) and the SSH agent apply as for any git command.
        ProcessRunner(timeout: configuration.timeout, environment: [
            "GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never", "GIT_PAGER": "cat", "LC_ALL": "C",
        ])
    }

    @discardableResult
    private func git(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        var runner = self.runner
        for (k, v) in environment { runner.environment[k] = v }
        let output: ProcessRunner.Output
        do { output = try runner.run(configuration.gitExecutable, arguments) } catch let failure as ProcessRunner.Failure {
            throw Failure(description: failure.description)
        }
        guard output.succeeded else {
            let message = output.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            throw Failure(description: "git \(arguments.first(where: { !$0.hasPrefix("-") }) ?? "") failed (exit \(output.status)): \(message.isEmpty ? output.stdout : message)")
        }
        return output.stdout
    }

    /// `git init --bare` once.
    func prepare() throws {
        try FileManager.default.createDirectory(atPath: configuration.cacheDirectory, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: gitDirectory + "/HEAD") {
            try git(["init", "--quiet", "--bare", gitDirectory])
        }
    }

    /// Fetches the branch tip (depth 1) and returns its commit SHA.
    func fetch() throws -> String {
        try prepare()
        try git(["--git-dir=" + gitDirectory, "fetch", "--quiet", "--depth", "1", "--no-tags", "--no-recurse-submodules",
                 "--", configuration.url, "refs/heads/" + configuration.branch])
        let sha = try git(["--git-dir=" + gitDirectory, "rev-parse", "--verify", "--quiet", "FETCH_HEAD^{commit}"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard sha.count >= 40, sha.allSatisfy(\.isHexDigit) else { throw Failure(description: "git rev-parse: unexpected output '\(sha)'") }
        return sha
    }

    /// Drops what older fetches left (the cache is rebuilt by the next fetch if need be).
    func collectGarbage() throws {
        try git(["--git-dir=" + gitDirectory, "gc", "--quiet", "--prune=now"])
    }

    /// Symbolic links and submodules below `path` in the commit: refused, because a link could
    /// make the bundle read files outside the repository.
    func unsupportedEntries(commit: String) throws -> [String] {
        var arguments = ["--git-dir=" + gitDirectory, "ls-tree", "-r", "--full-tree", commit]
        if !configuration.path.isEmpty { arguments += ["--", configuration.path] }
        var found: [String] = []
        for line in try git(arguments).split(separator: "\n") {
            // "<mode> <type> <object>\t<path>"
            guard let tab = line.firstIndex(of: "\t") else { continue }
            let mode = line.prefix(6)
            if mode == "120000" || mode == "160000" {
                found.append(String(line[line.index(after: tab)...]) + (mode == "120000" ? " (symbolic link)" : " (submodule)"))
            }
        }
        return found
    }

    /// Writes the commit's whole tree below `directory` (created; must not exist).
    func materialize(commit: String, into directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let index = directory + ".index"
        defer { try? FileManager.default.removeItem(atPath: index) }
        let environment = ["GIT_INDEX_FILE": index]
        try git(["--git-dir=" + gitDirectory, "read-tree", commit], environment: environment)
        try git(["--git-dir=" + gitDirectory, "--work-tree=" + directory, "checkout-index", "--all", "--force"], environment: environment)
    }
}
