import ArgumentParser
import ServiceLifecycle

/// `--listen` values: `127.0.0.1:8180`, `[::1]:8180`, `localhost:8180` (port 0: any free port).
struct ListenAddress: ExpressibleByArgument, Sendable {
    let host: String
    let port: Int

    init?(argument: String) {
        let host: Substring, portText: Substring
        if argument.hasPrefix("[") {
            guard let close = argument.firstIndex(of: "]"), argument[argument.index(after: close)...].hasPrefix(":") else { return nil }
            host = argument[argument.index(after: argument.startIndex)..<close]
            portText = argument[argument.index(close, offsetBy: 2)...]
        } else {
            guard let colon = argument.lastIndex(of: ":") else { return nil }
            host = argument[..<colon]
            portText = argument[argument.index(after: colon)...]
            if host.contains(":") { return nil }
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port), portText.allSatisfy(\.isNumber) else { return nil }
        self.host = String(host)
        self.port = port
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// Durations like `300s`, `5m`, `1h` or plain seconds (`300`).
struct DurationSeconds: ExpressibleByArgument, Sendable {
    let seconds: Int

    init?(argument: String) {
        let units: [(String, Int)] = [("ms", 0), ("s", 1), ("m", 60), ("h", 3600)]
        var text = Substring(argument)
        var multiplier = 1
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            guard factor > 0 else { return nil }
            text = text.dropLast(suffix.count)
            multiplier = factor
            break
        }
        guard let value = Int(text), value > 0, value <= 86_400 * 366 / multiplier else { return nil }
        seconds = value * multiplier
    }
}

/// A server started by a command, run until SIGTERM or SIGINT (swift-service-lifecycle), then
/// stopped; `run` returns normally, so the command exits 0.
struct StoppableServer: Service {
    let stop: @Sendable () async -> Void

    func run() async throws {
        try? await gracefulShutdown()
        await stop()
    }
}
