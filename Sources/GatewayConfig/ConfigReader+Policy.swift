import Foundation
import Yams

/// `policy:` — where the bundle comes from (a directory or a Git repository) and how routes
/// evaluate it (docs/ROUTES.md, docs/POLICY_SYNC.md).
extension ConfigReader {
    func readPolicy(_ node: Node) -> PolicySpec? {
        guard let fields = fields(node, allowed: ConfigKeys.policy, in: "policy") else { return nil }
        var policy = PolicySpec()
        if let n = fields["directory"] {
            policySourceDeclared = true
            if let value = string(n, key: "directory") { policy.directory = resolvePath(value) }
        }
        if let n = fields["git"] {
            policySourceDeclared = true
            if fields.has("directory") {
                error("git: set either policy.directory or policy.git, not both", at: n)
            } else if let git = readGit(n) {
                policy.git = git
            }
        }
        if let n = fields["query"], let value = string(n, key: "query") {
            if let problem = Syntax.queryProblem(value) { error("query: \(problem)", at: n) } else { policy.defaultQuery = value }
        }
        if let n = fields["required"], let value = bool(n, key: "required") { policy.required = value }
        if let n = fields["max_steps"], let value = integer(n, key: "max_steps", range: 1...1_000_000_000) {
            policy.maxSteps = value
        }
        if let n = fields["decision_cache"], let value = bool(n, key: "decision_cache") { policy.decisionCache = value }
        return policy
    }

    private func readGit(_ node: Node) -> GitPolicySpec? {
        guard let f = fields(node, allowed: ConfigKeys.policyGit, in: "policy.git") else { return nil }
        var ok = true
        var url: String?
        if let n = f["url"], let value = string(n, key: "url") {
            if let problem = Self.gitURLProblem(value) { error("url: \(problem)", at: n); ok = false } else { url = value }
        } else if !f.has("url") {
            error("policy.git needs 'url' (the repository, e.g. https://git.example/org/policies.git)", at: f.mark)
            ok = false
        }
        let cache = f["cache_dir"].flatMap { string($0, key: "cache_dir") }.map(resolvePath) ?? resolvePath(".policy-cache")
        var git = GitPolicySpec(url: url ?? "", cacheDirectory: cache)
        if let n = f["branch"], let value = string(n, key: "branch") {
            if let problem = Self.branchProblem(value) { error("branch: \(problem)", at: n); ok = false } else { git.branch = value }
        }
        if let n = f["path"], let value = text(n, key: "path") {
            var path = value.trimmingWhitespace
            while path.hasSuffix("/") { path.removeLast() }
            if path == "." { path = "" }
            if path.hasPrefix("/") || path.split(separator: "/").contains(where: { $0 == ".." || $0 == "." })
                || path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                error("path: '\(value.debugEscaped)' must be a directory inside the repository, relative, without '.' or '..' segments", at: n)
                ok = false
            } else {
                git.path = path
            }
        }
        if let n = f["poll_interval"], let value = duration(n, key: "poll_interval", positive: true) {
            if value < 1 { error("poll_interval: at least 1s (every poll runs git fetch)", at: n); ok = false } else { git.pollInterval = value }
        }
        if let n = f["timeout"], let value = duration(n, key: "timeout", positive: true) { git.timeout = value }
        if let n = f["require_tests_pass"], let value = bool(n, key: "require_tests_pass") { git.requireTestsPass = value }

        let secretKeys = ["webhook_secret", "webhook_secret_env", "webhook_secret_file"].filter { f.has($0) }
        if secretKeys.count > 1 {
            error("\(secretKeys[1]): set only one of webhook_secret, webhook_secret_env, webhook_secret_file", at: f[secretKeys[1]])
            ok = false
        } else if let n = f["webhook_secret"], let value = string(n, key: "webhook_secret") {
            git.webhookSecret = value
        } else if let n = f["webhook_secret_env"], let name = string(n, key: "webhook_secret_env") {
            if let value = environment[name], !value.isEmpty { git.webhookSecret = value } else {
                error("webhook_secret_env: the environment variable \(name) is not set (or empty)", at: n)
                ok = false
            }
        } else if let n = f["webhook_secret_file"], let value = string(n, key: "webhook_secret_file") {
            let path = resolvePath(value)
            if let data = FileManager.default.contents(atPath: path), let secret = String(data: data, encoding: .utf8)?
                .trimmingCharacters(in: .whitespacesAndNewlines), !secret.isEmpty {
                git.webhookSecret = secret
            } else {
                error("webhook_secret_file: \(path) cannot be read or is empty", at: n)
                ok = false
            }
        }
        if let secret = git.webhookSecret, secret.utf8.count < 16, let n = f["webhook_secret"] ?? f["webhook_secret_env"] ?? f["webhook_secret_file"] {
            error("webhook secret: at least 16 characters (it is all that authenticates POST /v1/policy/sync)", at: n)
            ok = false
        }
        return ok && url != nil ? git : nil
    }

    /// https, http, ssh, git, file URLs or scp-like `user@host:path`; never an option-like text.
    static func gitURLProblem(_ url: String) -> String? {
        if url.hasPrefix("-") { return "'\(url.debugEscaped)' must not start with '-'" }
        if url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
            return "'\(url.debugEscaped)' contains white space or control characters"
        }
        if let schemeEnd = url.firstRange(of: "://") {
            let scheme = url[..<schemeEnd.lowerBound].lowercased()
            guard ["https", "http", "ssh", "git", "file"].contains(scheme) else {
                return "scheme '\(scheme)' is not supported (https, http, ssh, git, file)"
            }
            if scheme == "file" { return url.count > "file://".count ? nil : "'\(url)' names no path" }
            let rest = url[schemeEnd.upperBound...]
            let host = rest.prefix { $0 != "/" }
            if host.isEmpty { return "'\(url)' has no host" }
            if scheme == "https" || scheme == "http", host.contains("@"), host.contains(":") {
                return "'\(url)': do not put credentials in the URL; use a git credential helper"
            }
            return nil
        }
        // scp-like: [user@]host:path
        if let colon = url.firstIndex(of: ":"), colon != url.startIndex, !url[..<colon].contains("/") {
            return nil
        }
        return "'\(url.debugEscaped)' is not a repository URL (https://host/repo.git, ssh://git@host/repo.git, git@host:repo.git or file:///path)"
    }

    /// git's ref-name rules, as far as a branch name written here can break them.
    static func branchProblem(_ branch: String) -> String? {
        let forbidden: Set<Character> = [" ", "~", "^", ":", "?", "*", "[", "\\"]
        if branch.hasPrefix("-") || branch.hasPrefix("/") || branch.hasSuffix("/") || branch.hasSuffix(".") || branch.hasSuffix(".lock")
            || branch.contains("..") || branch.contains("//") || branch.contains("@{") || branch.contains(where: { forbidden.contains($0) })
            || branch.hasPrefix("refs/") || branch.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "'\(branch.debugEscaped)' is not a valid branch name (write the name only, e.g. main or release/v2)"
        }
        return nil
    }
}
