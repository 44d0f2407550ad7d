import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a program with an argument list (never a shell) in its own process group, with a
/// timeout after which the whole group is killed (SIGKILL: git's helpers, ssh, credential
/// programs go with it). stdin is /dev/null; stdout and stderr go to temporary files, read
/// after exit, so a chatty child can never block on a full pipe.
///
/// posix_spawn rather than Foundation's `Process`: `Process` cannot put the child in a new
/// process group, and killing only the child would leave `git-remote-http` or `ssh` running.
public struct ProcessRunner: Sendable {
    public struct Output: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        public var succeeded: Bool { status == 0 }
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public enum Kind: Sendable { case spawn, timedOut }
        public let kind: Kind
        public let description: String
    }

    public var timeout: Double
    /// Added to (and overriding) the inherited environment.
    public var environment: [String: String]

    public init(timeout: Double, environment: [String: String] = [:]) {
        self.timeout = timeout
        self.environment = environment
    }

    /// Runs `executable` (looked up in PATH when it has no `/`) with `arguments`.
    public func run(_ executable: String, _ arguments: [String]) throws -> Output {
        let temporary = NSTemporaryDirectory() + "portcullis-proc-" + UUID().uuidString
        let outPath = temporary + ".out", errPath = temporary + ".err"
        defer { unlink(outPath); unlink(errPath) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        sigaddset(&defaultSignals, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        let argv = [executable] + arguments
        let envp = env.map { "\($0.key)=\($0.value)" }

        var pid: pid_t = 0
        var spawned: Int32 = 0
        // ETXTBSY is transient: an executable just written may still be open for writing in a
        // child another thread forked at that moment (it closes the copy when it execs).
        for attempt in 0..<20 {
            spawned = withCStrings(argv) { cArgs in
                withCStrings(envp) { cEnv in
                    executable.contains("/")
                        ? posix_spawn(&pid, executable, &actions, &attributes, cArgs, cEnv)
                        : posix_spawnp(&pid, executable, &actions, &attributes, cArgs, cEnv)
                }
            }
            guard spawned == ETXTBSY, attempt < 19 else { break }
            usleep(10_000)
        }
        guard spawned == 0 else {
            throw Failure(kind: .spawn, description: "cannot run \(executable): \(String(cString: strerror(spawned)))")
        }

        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(timeout, 0) * 1e9)
        var status: Int32 = 0
        var sleep: UInt32 = 1_000
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0, errno != EINTR { break }
            if DispatchTime.now().uptimeNanoseconds >= deadline {
                kill(-pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0, errno == EINTR {}
                throw Failure(kind: .timedOut, description: "\(([executable] + arguments).joined(separator: " ")) timed out after \(timeout)s; its process group was killed")
            }
            usleep(sleep)
            sleep = min(sleep * 2, 20_000)
        }
        let exitStatus: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Output(status: exitStatus, stdout: Self.read(outPath), stderr: Self.read(errPath))
    }

    private static func read(_ path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        return String(decoding: data.prefix(1 << 20), as: UTF8.self)
    }
}

private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
