import RegoLite

/// Turns a record into what is written: credentials removed, masks applied (on copies), then
/// one JSON object in OPA's decision-log shape plus our fields. Runs on the writer thread;
/// public for tests and benchmarks of the gateway (`encode`).
public struct RecordEncoder {
    let masks: [MaskRule]
    /// `labels` of every record (`id`: the instance, `version`: the gateway's).
    let labels: [(String, String)]
    /// Some mask may change the input's `token`: its shared encoding is not used.
    let masksReachToken: Bool

    public init(masks: [MaskRule], labels: [DecisionLogger.Configuration.Label]) {
        self.init(masks: masks, labelPairs: labels.map { ($0.name, $0.value) })
    }

    init(masks: [MaskRule], labelPairs labels: [(String, String)]) {
        self.masks = masks
        self.labels = labels
        masksReachToken = masks.contains { $0.tokens[0] == "input" && ($0.tokens.count == 1 || $0.tokens[1] == "token") }
    }

    /// The record's line (without the newline), exactly as the writer writes it. An encoder
    /// reuses its buffer: use one per thread.
    public func encode(_ record: DecisionRecord) -> [UInt8] { prepare(record).json }

    struct Prepared {
        var json: [UInt8]
        var summary: DecisionSummary
    }

    func prepare(_ record: DecisionRecord) -> Prepared {
        var record = record
        if record.explanation == nil, let explain = record.explain {
            var made: Explanation?
            let took = ContinuousClock().measure { made = explain() }
            record.explanation = made
            record.explainNs = took.components.seconds * 1_000_000_000 + took.components.attoseconds / 1_000_000_000
        }
        var values = MaskedValues(input: record.input, result: record.result)
        Masking.apply(masks, to: &values)
        let reasons = record.reasons.map { CredentialScrubber.redact($0, credentials: record.credentials) }
        let error = record.error.map { CredentialScrubber.redact($0, credentials: record.credentials) }

        let out = scratch.output
        out.reset()
        func key(_ name: StaticString, first: Bool = false) {
            out.append(first ? "\"" : ",\"")
            out.append(name)
            out.append("\":")
        }
        func string(_ s: String) { JSONBytes.string(s, into: out) }
        out.append(UInt8(ascii: "{"))
        key("decision_id", first: true)
        out.append(UInt8(ascii: "\"")); record.decisionID.appendUTF8(to: out); out.append(UInt8(ascii: "\""))
        key("timestamp"); out.append(UInt8(ascii: "\"")); RFC3339.append(nanoseconds: record.timestampNs, to: out); out.append(UInt8(ascii: "\""))
        if let query = record.query { key("path"); string(scratch.path(for: query)) }
        // Credentials are left out while writing, after the masks: nothing a mask does brings one back.
        for (name, root, value) in [("input", "/input", values.input), ("result", "/result", values.result)] as [(StaticString, String, Value?)] {
            guard let value else { continue }
            let mark = out.count
            key(name)
            let shared = root == "/input" && !masksReachToken ? record.tokenEncoding : nil
            var writer = ScrubbingWriter(out: out, credentials: record.credentials, root: root, tokenEncoding: shared)
            if !writer.write(value) { out.truncate(to: mark) }
            values.erased += writer.erased
        }
        if let revision = record.revision { key("revision"); string(revision) }
        if !labels.isEmpty {
            key("labels"); out.append(UInt8(ascii: "{"))
            for (i, (name, value)) in labels.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                string(name); out.append(UInt8(ascii: ":")); string(value)
            }
            out.append(UInt8(ascii: "}"))
        }
        if record.explainNs != nil || record.evalNs != nil || record.handlerNs != nil {
            key("metrics"); out.append(UInt8(ascii: "{"))
            var first = true
            for (name, ns) in [("timer_rego_explain_ns", record.explainNs), ("timer_rego_query_eval_ns", record.evalNs),
                               ("timer_server_handler_ns", record.handlerNs)] as [(StaticString, Int64?)] {
                guard let ns else { continue }
                key(name, first: first); first = false
                JSONBytes.int(ns, into: out)
            }
            out.append(UInt8(ascii: "}"))
        }
        if !values.erased.isEmpty { key("erased"); JSONBytes.strings(values.erased, into: out) }
        if !values.masked.isEmpty { key("masked"); JSONBytes.strings(values.masked, into: out) }
        key("request_id"); string(record.requestID)
        key("route"); string(record.route)
        key("stage"); string(record.stage.rawValue)
        key("status"); JSONBytes.int(Int64(record.status), into: out)
        key("allowed"); out.append(record.allowed ? "true" : "false")
        key("enforced"); out.append(record.enforced ? "true" : "false")
        key("reasons"); JSONBytes.strings(reasons, into: out)
        if let error { key("error"); string(error) }
        if let explanation = record.explanation { key("explanation"); JSONBytes.value(explanation.json, into: out) }
        out.append(UInt8(ascii: "}"))
        let id = record.decisionID.description

        func text(_ v: Value?) -> String {
            guard case .string(let s)? = v, !CredentialScrubber.isSecret(s, record.credentials) else { return "" }
            return s
        }
        let summary = DecisionSummary(
            decisionID: id, requestID: record.requestID, timestampNs: record.timestampNs, route: record.route,
            method: text(values.input?["method"]), path: text(values.input?["path"]),
            subject: text(values.input?["token"]?["payload"]?["sub"]), status: record.status, allowed: record.allowed,
            reasons: reasons)
        return Prepared(json: out.bytes, summary: summary)
    }

    /// The output buffer and the last query's OPA path (records repeat the same few queries).
    /// One encoder per thread: the writer's; `encode` callers on other threads make their own.
    private let scratch = Scratch()

    final class Scratch: @unchecked Sendable {
        let output = JSONOutput()
        private var query = ""
        private var path = ""
        func path(for query: String) -> String {
            if query != self.query { self.query = query; path = RecordEncoder.opaPath(query) }
            return path
        }
    }

    /// `data.a.b.c` → `a/b/c` (OPA's `path`); other queries are kept as written.
    static func opaPath(_ query: String) -> String {
        guard query.hasPrefix("data."), query.utf8.allSatisfy({ c in
            c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
        }) else { return query }
        return query.dropFirst(5).split(separator: ".").joined(separator: "/")
    }
}
