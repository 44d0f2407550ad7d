// RegoLite benchmark: evaluation of the default systemupdate bundle for typical gateway requests
// and compilation of a generated 1,000-entry policy. Budgets from issue 4 (rego-lite):
//   data.systemupdate.authz.allow for a typical request: median ≤ 10 µs (release build);
//   compiling a policy with 1,000 permission entries ≤ 100 ms.
// Each case is measured in batches interleaved with the other cases and with a trivial policy
// (`package t  allow := true`) evaluated with the same input, so the per-call overhead can be
// subtracted the same way for every engine (bench/rego_peers.py measures OPA and regorus;
// bench/rego-bench.sh prints the ratios). The last line of output is JSON with the medians.
//
// Usage: RegoBench [--bundle DIR] [--rounds N] [--emit-cases FILE] [--profile-eval SECONDS] [--profile-count N]
//   --emit-cases writes the inputs and the generated policies as JSON for bench/rego_peers.py.
//   --profile-eval runs only the evaluation loop for SECONDS (for `perf record -g`).
//   --profile-count evaluates every input N times and exits (for callgrind instruction counts).
import Foundation
import RegoLite

#if canImport(Glibc)
import Glibc
#endif

func nowNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("RegoBench: \(message)\n".utf8))
    exit(2)
}

// ---------------------------------------------------------------------------------------------
// Arguments

var bundleDir: String? = nil
var rounds = 60
var emitCases: String? = nil
var profileSeconds: Double? = nil
var profileCount: Int? = nil
do {
    var args = CommandLine.arguments.dropFirst()
    while let a = args.popFirst() {
        func value() -> String { guard let v = args.popFirst() else { fail("\(a) needs a value") }; return v }
        switch a {
        case "--bundle": bundleDir = value()
        case "--rounds": rounds = Int(value()) ?? rounds
        case "--emit-cases": emitCases = value()
        case "--profile-eval": profileSeconds = Double(value())
        case "--profile-count": profileCount = Int(value())
        case "-h", "--help":
            print("usage: RegoBench [--bundle DIR] [--rounds N] [--emit-cases FILE] [--profile-eval SECONDS] [--profile-count N]")
            exit(0)
        default: fail("unknown argument \(a)")
        }
    }
}
// Default: rego-lite/policies/systemupdate of the repository this source file lives in, else
// relative to the working directory.
if bundleDir == nil {
    let repo = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let candidates = [repo.appendingPathComponent("rego-lite/policies/systemupdate").path, "rego-lite/policies/systemupdate"]
    bundleDir = candidates.first { FileManager.default.fileExists(atPath: $0 + "/authz.rego") } ?? candidates[1]
}
let bundle = URL(fileURLWithPath: bundleDir!).standardizedFileURL

// ---------------------------------------------------------------------------------------------
// The bundle, loaded as OPA loads it: every *.rego (tests excluded: never enforced) is a module,
// data.json in directory a/b/ lands at data.a.b. The bundle directory's own name is the first
// path component (rego-lite/policies is the bundle root, systemupdate/data.json → data.systemupdate).

struct BundleFile { let rel: String; let text: String }

func loadBundle(_ dir: URL) -> (modules: [BundleFile], data: [BundleFile]) {
    let root = dir.deletingLastPathComponent()
    guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) else { fail("cannot read \(dir.path)") }
    var modules: [BundleFile] = [], data: [BundleFile] = []
    for case let url as URL in e {
        let name = url.lastPathComponent
        let rel = String(url.standardizedFileURL.path.dropFirst(root.path.count + 1))
        if name.hasSuffix(".rego"), !name.hasSuffix("_test.rego") {
            guard let t = try? String(contentsOf: url, encoding: .utf8) else { fail("cannot read \(url.path)") }
            modules.append(BundleFile(rel: rel, text: t))
        } else if name == "data.json" {
            guard let t = try? String(contentsOf: url, encoding: .utf8) else { fail("cannot read \(url.path)") }
            data.append(BundleFile(rel: rel, text: t))
        }
    }
    if modules.isEmpty { fail("no .rego module in \(dir.path)") }
    return (modules.sorted { $0.rel < $1.rel }, data.sorted { $0.rel < $1.rel })
}

func compileBundle(modules: [BundleFile], data: [BundleFile]) throws -> CompiledPolicy {
    var engine = PolicyEngine()
    for m in modules { try engine.addModule(name: m.rel, source: m.text) }
    for d in data { try engine.addBundleData(path: d.rel, value: try JSONReader.parse(d.text)) }
    return try engine.compile()
}

let (bundleModules, bundleData) = loadBundle(bundle)

// ---------------------------------------------------------------------------------------------
// Typical gateway requests, shaped as the gateway builds the input (docs/POLICY_GUIDE.md), with
// a Keycloak-like verified token. Allow and deny cases; `want` is the expected value of allow.

func token(realm: [String], client: [String]) -> String {
    func list(_ xs: [String]) -> String { "[" + xs.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
    return """
    {"header": {"alg": "RS256", "kid": "kc-2026-rs256", "typ": "JWT"},
     "payload": {"exp": 1700000300, "iat": 1700000000, "auth_time": 1699999995,
      "jti": "onrtac:6c1f4d0e-8a9b-4a56-9d1e-2f3a4b5c6d7e",
      "iss": "http://127.0.0.1:8081/realms/systemupdate", "aud": ["portcullis", "account"],
      "sub": "3f1e2d4c-5b6a-4789-8c0d-1e2f3a4b5c6d", "typ": "Bearer", "azp": "portcullis",
      "sid": "8d0c1b2a-3e4f-4a5b-9c6d-7e8f9a0b1c2d", "acr": "1", "scope": "openid profile email",
      "realm_access": {"roles": \(list(["default-roles-systemupdate", "offline_access", "uma_authorization"] + realm))},
      "resource_access": {"portcullis": {"roles": \(list(client))}, "account": {"roles": ["manage-account", "view-profile"]}},
      "email_verified": true, "name": "Alice Operator", "preferred_username": "alice", "email": "alice@example.com"}}
    """
}

func request(route: String, method: String, segments: [String], token tok: String?) -> String {
    let path = "/" + segments.joined(separator: "/")
    let segs = "[" + segments.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
    return """
    {"request_id": "0f8b2c4e-3a1d-4e5f-9b6c-7d8e9f0a1b2c", "time_ns": 1700000000123456789,
     "route": "\(route)", "method": "\(method)", "scheme": "http", "host": "api.local",
     "path": "\(path)", "path_segments": \(segs), "query": {"limit": ["50"]},
     "headers": {"user-agent": "systemupdate-web/1.4", "accept": "application/json", "x-request-id": "0f8b2c4e-3a1d-4e5f-9b6c-7d8e9f0a1b2c"},
     "source_ip": "10.0.3.17", "authenticated": \(tok != nil)\(tok.map { ", \"token\": \($0)" } ?? "")}
    """
}

struct Case { let name: String; let json: String; let want: Bool }

let cases: [Case] = [
    Case(name: "operator POST /api/commands", json: request(route: "commands", method: "POST", segments: ["api", "commands"], token: token(realm: ["operator"], client: [])), want: true),
    Case(name: "operator PATCH /commands/c-42/ack", json: request(route: "commands", method: "PATCH", segments: ["commands", "c-42", "ack"], token: token(realm: ["operator"], client: [])), want: false),
    Case(name: "viewer GET /api/devices/d-42", json: request(route: "devices", method: "GET", segments: ["api", "devices", "d-42"], token: token(realm: [], client: ["viewer"])), want: true),
    Case(name: "admin DELETE /devices/d-7", json: request(route: "devices", method: "DELETE", segments: ["devices", "d-7"], token: token(realm: ["admin"], client: [])), want: true),
    Case(name: "anonymous GET /devices/healthz", json: request(route: "devices", method: "GET", segments: ["devices", "healthz"], token: nil), want: true),
    Case(name: "anonymous GET /api/analytics/x", json: request(route: "analytics", method: "GET", segments: ["api", "analytics", "summary", "daily"], token: nil), want: false),
]
let query = "data.systemupdate.authz.allow"
let trivialSource = "package t\nallow := true\n"
let trivialQuery = "data.t.allow"

// ---------------------------------------------------------------------------------------------
// Generated policies with 1,000 permission entries (budget 2), as source text.
//  data:  the default authz.rego + a data.json whose roles table holds 1,000 permission entries
//         (200 roles × 5 permissions) over 1,000 actions, and routes for 40 services.
//  rules: one module with 1,000 `allow if { ... }` rules, one per (route, method, role) entry.

func generatedData() -> String {
    // Start from the default data and replace roles/routes/actions with generated tables.
    var roles: [String] = [], actions: [String] = [], routes: [String] = []
    for s in 0..<40 {
        let svc = "svc\(s)"
        routes.append("""
        "\(svc)": {"prefixes": [["\(svc)"], ["api", "\(svc)"]], "rules": [
          {"methods": ["GET", "HEAD"], "path": ["healthz"], "action": "health:read"},
          {"methods": ["GET", "HEAD"], "path": [], "action": "\(svc):a0"},
          {"methods": ["GET", "HEAD"], "path": ["*"], "action": "\(svc):a1"},
          {"methods": ["POST"], "path": [], "action": "\(svc):a2"},
          {"methods": ["PUT", "PATCH"], "path": ["*"], "action": "\(svc):a3"},
          {"methods": ["DELETE"], "path": ["*"], "action": "\(svc):a4"}]}
        """)
        for a in 0..<25 { actions.append("\"\(svc):a\(a)\": \"generated action \(a) of \(svc)\"") }
    }
    for r in 0..<200 {
        let perms = (0..<5).map { i -> String in let n = r * 5 + i; return "\"svc\(n / 25):a\(n % 25)\"" }
        roles.append("\"role\(r)\": {\"description\": \"generated role \(r)\", \"permissions\": [\(perms.joined(separator: ", "))]}")
    }
    return """
    {"role_sources": {"realm_roles": true, "client_roles": ["portcullis"]},
     "public_actions": ["health:read", "auth:access"],
     "actions": {\(actions.joined(separator: ",\n"))},
     "roles": {\(roles.joined(separator: ",\n"))},
     "routes": {\(routes.joined(separator: ",\n"))}}
    """
}

func generatedRules() -> String {
    let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    var out = "package bench.perms\n\nimport rego.v1\n\ndefault allow := false\n\n"
    out += "roles contains r if some r in input.token.payload.realm_access.roles\n\n"
    for i in 0..<1000 {
        out += """
        allow if {
        \tinput.route == "svc\(i / 25)"
        \tinput.method == "\(methods[i % 5])"
        \tinput.path_segments[0] == "svc\(i / 25)"
        \t"role\(i % 200)" in roles
        }


        """
    }
    return out
}

let authzModule = bundleModules
let dataSource = generatedData()
let rulesSource = generatedRules()

// ---------------------------------------------------------------------------------------------
// --emit-cases: everything rego_peers.py needs to measure the same thing.

if let path = emitCases {
    var doc: [String: Any] = [
        "query": query, "trivial_policy": trivialSource, "trivial_query": trivialQuery,
        "modules": bundleModules.map { ["name": $0.rel, "source": $0.text] },
        "data": bundleData.map { ["path": $0.rel, "json": $0.text] },
        "generated": ["data_json": dataSource, "rules_source": rulesSource],
    ]
    doc["cases"] = cases.map { ["name": $0.name, "input": try! JSONSerialization.jsonObject(with: Data($0.json.utf8)), "want": $0.want] as [String: Any] }
    do {
        let bytes = try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys])
        try bytes.write(to: URL(fileURLWithPath: path))
    } catch { fail("cannot write \(path): \(error)") }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

let policy: CompiledPolicy
let prepared: PreparedQuery
let trivial: PreparedQuery
do {
    policy = try compileBundle(modules: bundleModules, data: bundleData)
    prepared = try PreparedQuery(policy: policy, query: query)
    trivial = try PreparedQuery(policy: try PolicyEngine.compile(modules: [("t.rego", trivialSource)]), query: trivialQuery)
} catch { fail("cannot compile \(bundle.path): \(error)") }

let inputs: [Value] = cases.map { c in
    do { return try JSONReader.parse(c.json) } catch { fail("bad input for \(c.name): \(error)") }
}
for (c, input) in zip(cases, inputs) {
    let got: Value?
    do { got = try prepared.evalValue(input: input) } catch { fail("\(c.name): \(error)") }
    if got != .bool(c.want) { fail("\(c.name): allow = \(got.map { "\($0)" } ?? "undefined"), expected \(c.want)") }
    guard (try? trivial.evalValue(input: input)) == .true else { fail("trivial policy is not true") }
}

if let n = profileCount {
    // A fixed number of evaluations of every input (for `valgrind --tool=callgrind`: instructions
    // per evaluation are (total(N) - total(0)) / (N * inputs)).
    for input in inputs { for _ in 0..<n { _ = try! prepared.evalValue(input: input) } }
    print("profile: \(n * inputs.count) evaluations")
    exit(0)
}

if let seconds = profileSeconds {
    let end = nowNanoseconds() + UInt64(seconds * 1e9)
    var n = 0
    while nowNanoseconds() < end {
        for input in inputs { for _ in 0..<100 { _ = try! prepared.evalValue(input: input) } }
        n += 100 * inputs.count
    }
    print("profile: \(n) evaluations")
    exit(0)
}

/// Nanoseconds per call of one batch.
@inline(never)
func batch(_ q: PreparedQuery, _ input: Value, _ n: Int) -> Double {
    let start = nowNanoseconds()
    for _ in 0..<n { _ = try! q.evalValue(input: input) }
    return Double(nowNanoseconds() - start) / Double(n)
}

// Batch size: about 2 ms of work per batch.
let batchSize: Int = {
    let t = batch(prepared, inputs[0], 200)
    return max(20, min(2000, Int(2_000_000 / max(t, 100))))
}()
for (i, input) in inputs.enumerated() { _ = batch(prepared, input, 50); _ = batch(trivial, inputs[i], 50) }

var raw = [[Double]](repeating: [], count: cases.count)
var triv = [[Double]](repeating: [], count: cases.count)
for r in 0..<rounds {
    // Alternate the order of policy and trivial batches so neither always runs first.
    for i in 0..<cases.count {
        if r % 2 == 0 {
            raw[i].append(batch(prepared, inputs[i], batchSize))
            triv[i].append(batch(trivial, inputs[i], batchSize))
        } else {
            triv[i].append(batch(trivial, inputs[i], batchSize))
            raw[i].append(batch(prepared, inputs[i], batchSize))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Deny explanations (PreparedQuery.explain): the gateway runs one after a deny or an undefined
// decision, never after an allow. Measured on the deny cases, interleaved with their evaluation.

@inline(never)
func explainBatch(_ q: PreparedQuery, _ input: Value, _ n: Int) -> Double {
    let start = nowNanoseconds()
    for _ in 0..<n { _ = q.explain(input: input) }
    return Double(nowNanoseconds() - start) / Double(n)
}
let denyIndices = cases.indices.filter { !cases[$0].want }
var explainTimes: [Double] = [], denyEvalTimes: [Double] = []
for i in denyIndices {
    guard let e = prepared.explain(input: inputs[i]), !e.outcomes.isEmpty else { fail("\(cases[i].name): no explanation") }
}
for _ in 0..<max(rounds / 2, 5) {
    for i in denyIndices {
        explainTimes.append(explainBatch(prepared, inputs[i], batchSize))
        denyEvalTimes.append(batch(prepared, inputs[i], batchSize))
    }
}

// ---------------------------------------------------------------------------------------------
// Production-shaped traffic: the request shapes of the gateway bench (bench/gateway_traffic.py:
// every route of routes.yaml, GET/POST/PUT/PATCH/DELETE, ids in paths) for each of its personas
// (realm and client roles), as the gateway builds the input. Median over inputs of each input's
// median evaluation; explanations of the denied ones against their own evaluation.

let trafficShapes: [(method: String, target: String)] = [
    ("GET", "/devices?status=online&limit=50&cursor=481516"), ("GET", "/api/devices/d-231508"), ("GET", "/devices/d-977112"),
    ("GET", "/api/devices?site=site-120344"), ("GET", "/devices/healthz"), ("POST", "/devices"), ("POST", "/api/devices"),
    ("PUT", "/devices/d-563019"), ("PATCH", "/api/devices/d-448201"), ("DELETE", "/devices/d-190877"),
    ("DELETE", "/api/devices/d-700153"), ("GET", "/commands?device=d-318265&limit=20"), ("GET", "/api/commands/c-882910"),
    ("GET", "/commands/c-104552"), ("GET", "/api/commands/healthz"), ("POST", "/commands"), ("POST", "/api/commands"),
    ("PATCH", "/commands/c-665120/ack"), ("PATCH", "/api/commands/c-239981/ack"), ("POST", "/ingest"),
    ("POST", "/api/ingest/d-554310"), ("POST", "/ingest/d-776021"), ("GET", "/ingest/healthz"), ("GET", "/analytics"),
    ("GET", "/api/analytics/summary/daily?from=2026-11-01&to=2026-11-25&site=site-551002"),
    ("GET", "/analytics/devices/d-330918/uptime"), ("GET", "/api/analytics/fleet/site-612094/firmware"),
    ("GET", "/analytics/healthz"), ("GET", "/notify"), ("GET", "/api/notifications/n-402117"),
    ("GET", "/notifications?unread=true&cursor=220871"), ("POST", "/notify"), ("POST", "/api/notifications"),
    ("GET", "/api/notify/healthz"), ("GET", "/ws/devices/d-871624/events"), ("GET", "/api/ws/fleet/site-117305"),
    ("GET", "/ws/healthz"), ("GET", "/auth/realms/systemupdate/.well-known/openid-configuration"),
    ("POST", "/auth/realms/systemupdate/protocol/openid-connect/token"),
    ("GET", "/api/auth/realms/systemupdate/protocol/openid-connect/certs"),
    ("POST", "/api/auth/realms/systemupdate/protocol/openid-connect/token"),
    ("POST", "/auth/realms/systemupdate/protocol/openid-connect/logout"),
]
let trafficPersonas: [(realm: [String], client: [String])] = [
    (["viewer"], []), ([], ["viewer"]), (["operator"], []), (["viewer"], ["commands-approver"]), (["admin"], []),
    (["device"], []), (["service"], []),
]

func trafficRoute(_ segments: [String]) -> String {
    let first = segments.first == "api" && segments.count > 1 ? segments[1] : segments.first ?? ""
    switch first {
    case "notify", "notifications": return "notifications"
    case "ws": return "ws-hub"
    default: return first
    }
}

func trafficInput(method: String, target: String, token tok: String?) -> String {
    let parts = target.split(separator: "?", maxSplits: 1).map(String.init)
    let segments = parts[0].split(separator: "/").map(String.init)
    var query: [String] = []
    if parts.count > 1 {
        for pair in parts[1].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            query.append("\"\(kv[0])\": [\"\(kv.count > 1 ? kv[1] : "")\"]")
        }
    }
    let segs = "[" + segments.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
    let body = method == "GET" || method == "DELETE" ? "" : ", \"content-length\": \"612\", \"content-type\": \"application/json\""
    return """
    {"request_id": "0f8b2c4e3a1d4e5f9b6c7d8e9f0a1b2c", "time_ns": 1700000000123456789,
     "route": "\(trafficRoute(segments))", "method": "\(method)", "scheme": "http", "host": "api.local",
     "path": "\(parts[0])", "path_segments": \(segs), "query": {\(query.joined(separator: ", "))},
     "headers": {"accept": "application/json", "accept-encoding": "gzip, deflate", "host": "api.local:8080",
                 "user-agent": "systemupdate-console/4.12.3 (okhttp/4.12.0)"\(body)},
     "source_ip": "127.0.0.1", "authenticated": \(tok != nil)\(tok.map { ", \"token\": \($0)" } ?? "")}
    """
}

let trafficInputs: [Value] = trafficShapes.flatMap { shape in
    trafficPersonas.map { persona in
        let anonymous = shape.target.contains("/auth/")
        let text = trafficInput(method: shape.method, target: shape.target,
                                token: anonymous ? nil : token(realm: persona.realm, client: persona.client))
        do { return try JSONReader.parse(text) } catch { fail("bad traffic input \(shape): \(error)") }
    }
}
let trafficAllowed = trafficInputs.map { (try? prepared.evalValue(input: $0)) == .true }
var trafficEval = [[Double]](repeating: [], count: trafficInputs.count)
var trafficExplain = [[Double]](repeating: [], count: trafficInputs.count)
for _ in 0..<max(rounds / 2, 5) {
    for (i, input) in trafficInputs.enumerated() {
        trafficEval[i].append(batch(prepared, input, 20))
        if !trafficAllowed[i] { trafficExplain[i].append(explainBatch(prepared, input, 10)) }
    }
}
let trafficMedian = median(trafficEval.map(median))
let trafficDenied = trafficInputs.indices.filter { !trafficAllowed[$0] }
let trafficExplainRatio = trafficDenied.isEmpty ? 0 : median(trafficDenied.map { median(trafficExplain[$0]) / median(trafficEval[$0]) })

// ---------------------------------------------------------------------------------------------
// Compilation of the generated 1,000-entry policies: source text → CompiledPolicy (parse, JSON
// parse of the data, compile). Median of several runs, each also checked with one evaluation.

func timeMs(_ body: () throws -> Void) rethrows -> Double {
    let start = nowNanoseconds()
    try body()
    return Double(nowNanoseconds() - start) / 1e6
}

let genInputAllow = """
{"route": "svc3", "method": "GET", "path": "/svc3/x", "path_segments": ["svc3", "x"], "authenticated": true,
 "token": {"payload": {"realm_access": {"roles": ["role15"]}}}}
"""
var compileData: [Double] = [], compileRules: [Double] = []
do {
    for _ in 0..<7 {
        var p: CompiledPolicy? = nil
        compileData.append(try timeMs {
            var e = PolicyEngine()
            for m in authzModule { try e.addModule(name: m.rel, source: m.text) }
            try e.addBundleData(path: "systemupdate/data.json", value: try JSONReader.parse(dataSource))
            p = try e.compile()
        })
        // role15 holds permissions 75..79 = svc3:a0..a4; GET /svc3/x is svc3:a1.
        let v = try PreparedQuery(policy: p!, query: query).evalValue(input: try JSONReader.parse(genInputAllow))
        if v != .true { fail("generated data policy: allow = \(v.map { "\($0)" } ?? "undefined"), expected true") }

        var q: CompiledPolicy? = nil
        compileRules.append(try timeMs {
            q = try PolicyEngine.compile(modules: [("perms.rego", rulesSource)])
        })
        // Rule i = 75: svc3, GET, role75.
        let rin = genInputAllow.replacingOccurrences(of: "role15", with: "role75")
        let w = try PreparedQuery(policy: q!, query: "data.bench.perms.allow").evalValue(input: try JSONReader.parse(rin))
        if w != .true { fail("generated rules policy: allow = \(w.map { "\($0)" } ?? "undefined"), expected true") }
    }
} catch { fail("generated policy: \(error)") }

// ---------------------------------------------------------------------------------------------
// Report

func us(_ ns: Double) -> String { String(format: "%.2f", ns / 1000) }
print("RegoLite benchmark: \(query), bundle \(bundle.path)")
print("(medians of \(rounds) interleaved batches of \(batchSize) calls; trivial = `package t; allow := true` with the same input)")
print("")
print("case                                    allow   eval (µs)   trivial (µs)   eval - trivial (µs)")
var caseJSON: [String] = []
for (i, c) in cases.enumerated() {
    let m = median(raw[i]), t = median(triv[i])
    print(c.name.padding(toLength: 40, withPad: " ", startingAt: 0) + String(c.want).padding(toLength: 8, withPad: " ", startingAt: 0)
          + us(m).padding(toLength: 12, withPad: " ", startingAt: 0) + us(t).padding(toLength: 15, withPad: " ", startingAt: 0) + us(m - t))
    caseJSON.append("{\"name\": \"\(c.name)\", \"want\": \(c.want), " + String(format: "\"eval_ns\": %.1f, \"trivial_ns\": %.1f}", m, t))
}
let pooled = median(raw.flatMap { $0 }), pooledTrivial = median(triv.flatMap { $0 })
let worst = raw.map(median).max()!
let dataMs = median(compileData), rulesMs = median(compileRules)
let evalOK = pooled <= 10_000, compileOK = max(dataMs, rulesMs) <= 100
print("all cases (pooled)".padding(toLength: 48, withPad: " ", startingAt: 0) + us(pooled).padding(toLength: 12, withPad: " ", startingAt: 0)
      + us(pooledTrivial).padding(toLength: 15, withPad: " ", startingAt: 0) + us(pooled - pooledTrivial))
print("")
print(String(format: "budget 1: median eval %.2f µs (slowest case %.2f µs) ≤ 10 µs: ", pooled / 1000, worst / 1000) + (evalOK ? "holds" : "EXCEEDED"))
print(String(format: "compile, 1,000 permission entries in data.json (authz.rego + 200 roles × 5): median %.1f ms (min %.1f)", dataMs, compileData.min()!))
print(String(format: "compile, 1,000 allow rules in one module:                             median %.1f ms (min %.1f)", rulesMs, compileRules.min()!))
print("budget 2: compile ≤ 100 ms: \(compileOK ? "holds" : "EXCEEDED")")
let explainMedian = denyIndices.isEmpty ? 0 : median(explainTimes), denyEvalMedian = denyIndices.isEmpty ? 0 : median(denyEvalTimes)
print(String(format: "explain, deny cases (%d): median %.2f µs per explanation (their evaluation: %.2f µs); allow path: 0 (not run)",
             denyIndices.count, explainMedian / 1000, denyEvalMedian / 1000))
print(String(format: "traffic shapes (%d shapes × %d personas, %d denied): median eval %.2f µs ≤ 5 µs: %@; explanation ÷ its evaluation, median over the denied: %.2f ≤ 2: %@",
             trafficShapes.count, trafficPersonas.count, trafficDenied.count, trafficMedian / 1000, trafficMedian <= 5000 ? "holds" : "EXCEEDED",
             trafficExplainRatio, trafficExplainRatio <= 2 ? "holds" : "EXCEEDED"))
print("{\"engine\": \"regolite\", \"rounds\": \(rounds), \"batch\": \(batchSize), "
      + String(format: "\"eval_ns\": %.1f, \"trivial_ns\": %.1f, \"slowest_case_ns\": %.1f, \"compile_data_1000_ms\": %.2f, \"compile_rules_1000_ms\": %.2f, \"explain_deny_ns\": %.1f, \"eval_deny_ns\": %.1f, \"traffic_eval_ns\": %.1f, \"traffic_explain_ratio\": %.2f, ", pooled, pooledTrivial, worst, dataMs, rulesMs, explainMedian, denyEvalMedian, trafficMedian, trafficExplainRatio)
      + "\"cases\": [\(caseJSON.joined(separator: ", "))]}")
