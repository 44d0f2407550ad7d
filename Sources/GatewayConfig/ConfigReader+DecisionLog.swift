import Foundation
import Yams

/// `decision_log:` — where decision records go and what is masked (docs/DECISION_LOGS.md).
extension ConfigReader {
    func readDecisionLog(_ node: Node) -> DecisionLogSpec? {
        guard let f = fields(node, allowed: ConfigKeys.decisionLog, in: "decision_log") else { return nil }
        var spec = DecisionLogSpec()
        var ok = true
        if let n = f["file"] {
            if let file = readDecisionLogFile(n) { spec.file = file } else { ok = false }
        }
        if let n = f["queue_size"], let v = integer(n, key: "queue_size", range: 1...10_000_000) { spec.queueSize = v }
        if let n = f["overflow"], let v = string(n, key: "overflow") {
            if let overflow = DecisionLogSpec.Overflow(rawValue: v) { spec.overflow = overflow } else {
                error("overflow: '\(v.debugEscaped)' is not one of drop, block", at: n)
                ok = false
            }
        }
        if let n = f["batch_size"], let v = integer(n, key: "batch_size", range: 1...1_000_000) { spec.batchSize = v }
        if let n = f["flush_interval"], let v = duration(n, key: "flush_interval", positive: true) {
            if v > 60 { error("flush_interval: at most 60s", at: n); ok = false } else { spec.flushInterval = v }
        }
        if let n = f["ring_size"], let v = integer(n, key: "ring_size", range: 0...1_000_000) { spec.ringSize = v }
        if let n = f["mask"] {
            if let masks = readMasks(n) { spec.masks = masks } else { ok = false }
        }
        if let n = f["http"] {
            if let http = readDecisionLogHTTP(n) { spec.http = http } else { ok = false }
        }
        if spec.batchSize > spec.queueSize, let n = f["batch_size"] {
            error("batch_size (\(spec.batchSize)) is larger than queue_size (\(spec.queueSize))", at: n)
            ok = false
        }
        return ok ? spec : nil
    }

    private func readDecisionLogFile(_ node: Node) -> DecisionLogSpec.File? {
        guard let f = fields(node, allowed: ConfigKeys.decisionLogFile, in: "decision_log.file") else { return nil }
        guard let n = f["path"] else {
            error("decision_log.file needs 'path' (e.g. /var/log/portcullis/decisions.log)", at: f.mark)
            return nil
        }
        guard let path = string(n, key: "path") else { return nil }
        var file = DecisionLogSpec.File(path: resolvePath(path))
        if let n = f["max_size"], let v = size(n, key: "max_size") {
            if v < 4096 { error("max_size: at least 4KiB", at: n); return nil }
            file.maxSize = v
        }
        if let n = f["max_files"], let v = integer(n, key: "max_files", range: 1...1000) { file.maxFiles = v }
        return file
    }

    private func readMasks(_ node: Node) -> [DecisionLogSpec.Mask]? {
        guard let items = list(node, key: "mask", nonEmpty: false) else { return nil }
        var masks: [DecisionLogSpec.Mask] = []
        var ok = true
        for item in items {
            guard let f = fields(item, allowed: ConfigKeys.decisionLogMask, in: "a mask") else { ok = false; continue }
            guard let opNode = f["op"], let pathNode = f["path"] else {
                error("a mask needs 'op' (erase or upsert) and 'path' (a JSON pointer such as /input/headers/x-api-key)", at: f.mark)
                ok = false
                continue
            }
            guard let opText = string(opNode, key: "op"), let path = string(pathNode, key: "path") else { ok = false; continue }
            guard let operation = DecisionLogSpec.Mask.Operation(rawValue: opText) else {
                let hint = opText == "remove" ? " (OPA's 'remove' is 'erase' here)" : ""
                error("op: '\(opText.debugEscaped)' is not one of erase, upsert\(hint)", at: opNode)
                ok = false
                continue
            }
            if let problem = Self.maskPathProblem(path, operation: operation) {
                error("path: \(problem)", at: pathNode)
                ok = false
                continue
            }
            var mask = DecisionLogSpec.Mask(operation: operation, path: path)
            switch operation {
            case .erase:
                if let n = f["value"] { error("value: an erase mask takes no value", at: n); ok = false; continue }
            case .upsert:
                guard let n = f.entries.first(where: { $0.key == "value" })?.value else {
                    error("an upsert mask needs 'value' (the replacement)", at: f.mark)
                    ok = false
                    continue
                }
                guard let json = jsonText(n) else { ok = false; continue }
                mask.valueJSON = json
            }
            masks.append(mask)
        }
        return ok ? masks : nil
    }

    /// JSON pointer below /input or /result (`~0`, `~1` escapes only).
    static func maskPathProblem(_ path: String, operation: DecisionLogSpec.Mask.Operation) -> String? {
        guard path.hasPrefix("/input") || path.hasPrefix("/result") else {
            return "'\(path.debugEscaped)' must be a JSON pointer below /input or /result"
        }
        let tokens = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        guard tokens[0] == "input" || tokens[0] == "result" else {
            return "'\(path.debugEscaped)' must be a JSON pointer below /input or /result"
        }
        for token in tokens {
            var rest = Substring(token)
            while let tilde = rest.firstIndex(of: "~") {
                let next = rest.index(after: tilde)
                guard next < rest.endIndex, rest[next] == "0" || rest[next] == "1" else {
                    return "'\(path.debugEscaped)': '~' must be followed by 0 or 1 (~0 is '~', ~1 is '/')"
                }
                rest = rest[rest.index(after: next)...]
            }
        }
        if operation == .erase, tokens.count == 1, tokens[0] == "result" {
            return "the whole result cannot be erased (erase its members, or upsert /result)"
        }
        return nil
    }

    private func readDecisionLogHTTP(_ node: Node) -> DecisionLogSpec.HTTP? {
        guard let f = fields(node, allowed: ConfigKeys.decisionLogHTTP, in: "decision_log.http") else { return nil }
        guard let n = f["url"] else {
            error("decision_log.http needs 'url' (where batches are POSTed)", at: f.mark)
            return nil
        }
        guard let url = string(n, key: "url") else { return nil }
        switch Addresses.parseURL(url) {
        case .failure(let failure):
            error("url: \(failure.message)", at: n)
            return nil
        case .success(let parts):
            guard parts.scheme == "https" || parts.scheme == "http" else {
                error("url: scheme '\(parts.scheme)' is not supported (https:// or http://)", at: n)
                return nil
            }
            if parts.scheme == "http", !Syntax.isLoopback(parts.host) {
                error("url: plain http is refused except to loopback (decision records carry request data); use https", at: n)
                return nil
            }
        }
        var http = DecisionLogSpec.HTTP(url: url)
        var ok = true
        if let n = f["batch_size"], let v = integer(n, key: "batch_size", range: 1...100_000) { http.batchSize = v }
        if let n = f["timeout"], let v = duration(n, key: "timeout", positive: true) { http.timeout = v }
        if let n = f["max_retries"], let v = integer(n, key: "max_retries", range: 0...100) { http.maxRetries = v }
        if let n = f["headers"], let entries = freeEntries(n, in: "headers") {
            for entry in entries {
                if let problem = Syntax.tokenProblem(entry.key, what: "header name") {
                    error("headers: \(problem)", at: entry.keyNode)
                    ok = false
                    continue
                }
                let lower = entry.key.lowercased()
                if ["content-type", "content-encoding", "content-length", "host", "transfer-encoding", "connection"].contains(lower) {
                    error("headers: \(entry.key) is set by the gateway", at: entry.keyNode)
                    ok = false
                    continue
                }
                guard let value = string(entry.value, key: entry.key) else { ok = false; continue }
                http.headers.append(.init(name: entry.key, value: value))
            }
        }
        return ok ? http : nil
    }

    /// A YAML value as JSON text: plain `true`/`false`/`null`/`~` and JSON numbers keep their
    /// type, every other scalar is a string; mappings need string keys.
    func jsonText(_ node: Node) -> String? {
        guard visit(node) else { return nil }
        switch node {
        case .scalar(let scalar):
            let text = scalar.string
            if scalar.style == .plain {
                if node.isNull { return "null" }
                if text == "true" || text == "false" { return text }
                if Self.isJSONNumber(text) { return text }
            }
            return Self.quoteJSON(text)
        case .sequence(let sequence):
            var parts: [String] = []
            for item in sequence { guard let p = jsonText(item) else { return nil }; parts.append(p) }
            return "[" + parts.joined(separator: ",") + "]"
        case .mapping:
            guard let entries = freeEntries(node, in: "value") else { return nil }
            var parts: [String] = []
            for entry in entries { guard let p = jsonText(entry.value) else { return nil }; parts.append(Self.quoteJSON(entry.key) + ":" + p) }
            return "{" + parts.joined(separator: ",") + "}"
        case .alias:
            error("value: unresolved alias", at: node)
            return nil
        }
    }

    static func isJSONNumber(_ s: String) -> Bool {
        var i = s.startIndex
        if i < s.endIndex, s[i] == "-" { i = s.index(after: i) }
        guard i < s.endIndex else { return false }
        let digits = s[i...]
        let body = digits.prefix { $0.isASCII && ($0.isNumber || $0 == "." || $0 == "e" || $0 == "E" || $0 == "+" || $0 == "-") }
        guard body.count == digits.count, let first = digits.first, first.isNumber else { return false }
        if first == "0", digits.count > 1, digits[digits.index(after: digits.startIndex)].isNumber { return false }
        return Double(s) != nil
    }

    /// A JSON string literal (Foundation's writer: this module does not import RegoLite or JOSE,
    /// which have their own for the request path).
    static func quoteJSON(_ s: String) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: s, options: [.fragmentsAllowed, .withoutEscapingSlashes]) else {
            preconditionFailure("a string always serializes as JSON")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
