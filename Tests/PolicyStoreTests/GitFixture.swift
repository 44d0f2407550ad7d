import Foundation
@testable import PolicyStore

/// A real Git repository in a temporary directory, committed to by the test, fetched through a
/// `file://` URL.
final class GitFixture {
    let root: String
    let repository: String
    let cache: String

    init() throws {
        root = NSTemporaryDirectory() + "policystore-tests-" + UUID().uuidString
        repository = root + "/origin"
        cache = root + "/cache"
        try FileManager.default.createDirectory(atPath: repository, withIntermediateDirectories: true)
        try git("init", "--quiet", "--initial-branch=main")
        try git("config", "user.email", "tests@example.invalid")
        try git("config", "user.name", "Tests")
        try git("config", "commit.gpgsign", "false")
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    var url: String { "file://" + repository }

    @discardableResult
    func git(_ arguments: String...) throws -> String {
        let output = try ProcessRunner(timeout: 30, environment: ["GIT_CONFIG_NOSYSTEM": "1", "HOME": root])
            .run("git", ["-C", repository] + arguments)
        guard output.succeeded else { throw FixtureError(description: "git \(arguments): \(output.stderr)") }
        return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes the files (path → content; nil deletes), commits, returns the commit SHA.
    @discardableResult
    func commit(_ files: [String: String?], message: String = "change") throws -> String {
        for (path, content) in files {
            let full = repository + "/" + path
            if let content {
                try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try content.write(toFile: full, atomically: true, encoding: .utf8)
            } else {
                try? FileManager.default.removeItem(atPath: full)
            }
        }
        try git("add", "--all")
        try git("commit", "--quiet", "--allow-empty", "-m", message)
        return try git("rev-parse", "HEAD")
    }

    func configuration(path: String = "policies", requireTests: Bool = true, url: String? = nil) -> GitSourceConfiguration {
        var c = GitSourceConfiguration(url: url ?? self.url, cacheDirectory: cache)
        c.path = path
        c.pollInterval = 0.05
        c.requireTestsPass = requireTests
        c.timeout = 20
        return c
    }

    static let allowPolicy = """
        package authz

        default allow := false

        allow if input.user == "alice"
        """
    static let denyPolicy = """
        package authz

        default allow := false

        allow if false
        """
    static let passingTest = """
        package authz_test

        import data.authz

        test_alice_allowed if authz.allow with input as {"user": "alice"}
        """
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
}
