import ArgumentParser
import DecisionLog
import Foundation
import RegoLite

/// `portcullis decisions query|tail`: search and follow decision logs (docs/DECISION_LOGS.md).
struct DecisionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decisions",
        abstract: "Search and follow decision logs (JSON lines written by the gateway).",
        version: Portcullis.version,
        subcommands: [Query.self, Tail.self]
    )

    enum Format: String, ExpressibleByArgument { case json, table }

    struct Filters: ParsableArguments {
        @Flag(help: "Only denied requests.")
        var deny = false
        @Flag(help: "Only allowed requests.")
        var allow = false
        @Option(help: "Only this route id.")
        var route: String?
        @Option(help: "Only this subject (the token's sub).")
        var sub: String?
        @Option(help: "Only decisions since then: a duration back from now (30s, 10m, 2h, 1d) or an RFC 3339 time.")
        var since: String?
        @Option(name: .customLong("request-id"), help: "Only this X-Request-ID.")
        var requestID: String?
        @Option(name: .customLong("decision-id"), help: "Only this decision id.")
        var decisionID: String?

        func validate() throws {
            if deny && allow { throw ValidationError("--deny and --allow exclude each other") }
            if let since, DecisionFilter.parseSince(since, nowNs: 0) == nil {
                throw ValidationError("--since: expected a duration (10m, 2h) or an RFC 3339 time, got '\(since)'")
            }
        }

        func filter(limit: Int?) -> DecisionFilter {
            let now = Int64(Date().timeIntervalSince1970 * 1e9)
            return DecisionFilter(allowed: deny ? false : (allow ? true : nil), route: route, subject: sub,
                                  sinceNs: since.flatMap { DecisionFilter.parseSince($0, nowNs: now) },
                                  requestID: requestID, decisionID: decisionID, limit: limit)
        }
    }

    struct Query: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the decisions of log files that match every filter.",
            discussion: """
                Give rotated files too (decisions.log decisions.log.1 ...): they are read oldest first and
                printed in the order written. Files are streamed, never loaded whole. With --limit, the newest
                N matches are printed. --format json prints the records as written (one per line); table prints
                time, decision_id, route, method, path, sub, status, allowed, reasons.
                Exit status: 0 when something matched, 1 when nothing did, 2 on a usage or read error.
                """,
            version: Portcullis.version
        )

        @OptionGroup var filters: Filters
        @Option(help: "At most N decisions (the newest).")
        var limit: Int?
        @Option(help: "json or table.")
        var format: Format = .table
        @Argument(help: "Decision log files.")
        var files: [String]

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        }

        func run() throws {
            var skipped = 0
            var matched = 0
            let table = TableWriter(enabled: format == .table)
            do {
                try DecisionFiles.query(files, filter: filters.filter(limit: limit), skipped: &skipped) { summary, line in
                    matched += 1
                    if format == .json {
                        FileOutput.standardOutput.write(String(decoding: line, as: UTF8.self) + "\n")
                    } else {
                        table.row(summary)
                    }
                }
            } catch {
                FileOutput.standardError.write("error: \(error)\n")
                throw ExitCode(2)
            }
            table.finish()
            if skipped > 0 { FileOutput.standardError.write("note: \(skipped) lines were not decision records\n") }
            if matched == 0 { throw ExitCode(1) }
        }
    }

    struct Tail: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow a decision log, printing matching decisions as they are written (survives rotation).",
            version: Portcullis.version
        )

        @OptionGroup var filters: Filters
        @Option(help: "json or table.")
        var format: Format = .table
        @Flag(name: .customLong("from-start"), help: "Print what the file already holds first.")
        var fromStart = false
        @Argument(help: "The decision log (not a rotated copy).")
        var file: String

        func run() throws {
            let tail = DecisionTail(path: file, fromStart: fromStart)
            let filter = filters.filter(limit: nil)
            let table = TableWriter(enabled: format == .table, header: true)
            while true {
                for line in try tail.poll() {
                    guard let value = try? JSONReader.parse(bytes: line), let summary = DecisionSummary(record: value),
                          filter.matches(summary) else { continue }
                    if format == .json { FileOutput.standardOutput.write(String(decoding: line, as: UTF8.self) + "\n") } else { table.row(summary, flush: true) }
                }
                usleep(200_000)
            }
        }
    }
}

/// Fixed-width rows: time, decision_id, route, method, path, sub, status, allowed, reasons.
final class TableWriter {
    let enabled: Bool
    private var printedHeader = false

    init(enabled: Bool, header: Bool = true) {
        self.enabled = enabled
        printedHeader = !header
    }

    static let columns: [(String, Int)] = [("TIME", 24), ("DECISION_ID", 36), ("ROUTE", 12), ("METHOD", 7), ("PATH", 32),
                                           ("SUB", 16), ("STATUS", 6), ("ALLOWED", 7), ("REASONS", 0)]

    func row(_ s: DecisionSummary, flush: Bool = false) {
        guard enabled else { return }
        if !printedHeader {
            printedHeader = true
            FileOutput.standardOutput.write(Self.format(Self.columns.map(\.0)) + "\n")
        }
        let time = RFC3339.format(nanoseconds: s.timestampNs)
        let shortTime = String(time.prefix(23)) + "Z"
        FileOutput.standardOutput.write(Self.format([
            shortTime, s.decisionID, s.route, s.method, s.path, s.subject.isEmpty ? "-" : s.subject, String(s.status),
            s.allowed ? "true" : "false", s.reasons.joined(separator: "; "),
        ]) + "\n")
    }

    func finish() {}

    static func format(_ cells: [String]) -> String {
        var out = ""
        for (i, cell) in cells.enumerated() {
            let width = columns[i].1
            let clean = cell.replacingOccurrences(of: "\n", with: " ")
            if width == 0 { out += clean; continue }
            let text = clean.count > width ? String(clean.prefix(width - 1)) + "…" : clean
            out += text.padding(toLength: width, withPad: " ", startingAt: 0) + " "
        }
        return out
    }
}
