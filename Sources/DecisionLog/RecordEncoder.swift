import RegoLite

/// Turns a record into what is written: credentials removed, masks applied (on copies), then
/// one JSON object in OPA's decision-log shape plus our fields. Runs on the writer thread.
struct RecordEncoder {
    let masks: [MaskRule]
    /// `labels` of every record (`id`: the instance, `version`: the gateway's).
    let labels: [(String, String)]

    struct Prepared {
        var json: [UInt8]
        var summary: DecisionSummary
    }

    func prepare(_ record: DecisionRecord) -> Prepared {
        var values = MaskedValues(input: record.input, result: record.result)
        values.erased = CredentialScrubber.scrub(&values.input, credentials: record.credentials)
        if let result = values.result {
            var wrapped: Value? = result
            // The result is the policy's answer; a token inside it is erased the same way.
            let erased = CredentialScrubber.scrub(&wrapped, credentials: record.credentials)
            if !erased.isEmpty {
                values.result = wrapped
                values.erased += erased.map { "/result" + $0.dropFirst("/input".count) }
            }
        }
        Masking.apply(masks, to: &values)
        let reasons = record.reasons.map { CredentialScrubber.redact($0, credentials: record.credentials) }
        let error = record.error.map { CredentialScrubber.redact($0, credentials: record.credentials) }
        let id = record.decisionID.description

        var out: [UInt8] = []
        out.reserveCapacity(1024)
        func key(_ name: StaticString, first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }
        func string(_ s: String) { JSONBytes.string(s, into: &out) }
        out.append(UInt8(ascii: "{"))
        key("decision_id", first: true); string(id)
        key("timestamp"); out.append(UInt8(ascii: "\"")); RFC3339.append(nanoseconds: record.timestampNs, to: &out); out.append(UInt8(ascii: "\""))
        if let query = record.query { key("path"); string(Self.opaPath(query)) }
        if let input = values.input { key("input"); JSONBytes.value(input, into: &out) }
        if let result = values.result { key("result"); JSONBytes.value(result, into: &out) }
        if let revision = record.revision { key("revision"); string(revision) }
        if !labels.isEmpty {
            key("labels"); out.append(UInt8(ascii: "{"))
            for (i, (name, value)) in labels.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                string(name); out.append(UInt8(ascii: ":")); string(value)
            }
            out.append(UInt8(ascii: "}"))
        }
        var timers: [(StaticString, Int64)] = []
        if let ns = record.explainNs { timers.append(("timer_rego_explain_ns", ns)) }
        if let ns = record.evalNs { timers.append(("timer_rego_query_eval_ns", ns)) }
        if let ns = record.handlerNs { timers.append(("timer_server_handler_ns", ns)) }
        if !timers.isEmpty {
            key("metrics"); out.append(UInt8(ascii: "{"))
            for (i, (name, ns)) in timers.enumerated() { key(name, first: i == 0); JSONBytes.int(ns, into: &out) }
            out.append(UInt8(ascii: "}"))
        }
        if !values.erased.isEmpty { key("erased"); JSONBytes.list(values.erased.map(Value.string), into: &out) }
        if !values.masked.isEmpty { key("masked"); JSONBytes.list(values.masked.map(Value.string), into: &out) }
        key("request_id"); string(record.requestID)
        key("route"); string(record.route)
        key("stage"); string(record.stage.rawValue)
        key("status"); JSONBytes.int(Int64(record.status), into: &out)
        key("allowed"); JSONBytes.value(.bool(record.allowed), into: &out)
        key("enforced"); JSONBytes.value(.bool(record.enforced), into: &out)
        key("reasons"); JSONBytes.list(reasons.map(Value.string), into: &out)
        if let error { key("error"); string(error) }
        if let explanation = record.explanation { key("explanation"); JSONBytes.value(explanation.json, into: &out) }
        out.append(UInt8(ascii: "}"))

        func text(_ v: Value?) -> String { if case .string(let s)? = v { return s }; return "" }
        let summary = DecisionSummary(
            decisionID: id, requestID: record.requestID, timestampNs: record.timestampNs, route: record.route,
            method: text(values.input?["method"]), path: text(values.input?["path"]),
            subject: text(values.input?["token"]?["payload"]?["sub"]), status: record.status, allowed: record.allowed,
            reasons: reasons)
        return Prepared(json: out, summary: summary)
    }

    /// `data.a.b.c` → `a/b/c` (OPA's `path`); other queries are kept as written.
    static func opaPath(_ query: String) -> String {
        guard query.hasPrefix("data."), query.utf8.allSatisfy({ c in
            c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
        }) else { return query }
        return query.dropFirst(5).split(separator: ".").joined(separator: "/")
    }
}
