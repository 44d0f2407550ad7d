// DecisionLog benchmark: what decision logging costs the request path, and how many records the
// writer thread sustains. Budget (issue 7): logging to a file costs ≤ 5 % of proxy throughput,
// i.e. a few hundred ns per request on the event loop (build the record, enqueue); masking, JSON
// encoding and I/O happen on the writer thread.
//
// Measured in the same run:
//   enqueue   ns per `DecisionLogger.log` of a record built from a gateway-shaped policy input
//             (the writer running concurrently on another thread, queue large enough not to drop);
//   writer    records/s from the first enqueue until `flush()` returned (scrub, masks, JSON
//             encoding, rotation checks, writes to a file in a temporary directory);
//   reference ns per record for JSONSerialization.data of the same record as a Foundation
//             dictionary, and for RegoLite's JSONWriter (what encoding on the event loop would cost).
//
// Usage: DecisionLogBench [--records N] [--rounds N] [--keep DIR] [--profile-encode N]
//   --keep DIR writes the log there and keeps it (e.g. for `portcullis decisions query`).
import DecisionLog
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
    FileHandle.standardError.write(Data("DecisionLogBench: \(message)\n".utf8))
    exit(2)
}

var records = 200_000
var rounds = 5
var keep: String?
/// `--profile-encode N`: only encode N records on this thread (for `perf record`), then exit.
var profileEncode: Int?
do {
    var args = CommandLine.arguments.dropFirst()
    while let a = args.popFirst() {
        func value() -> String { guard let v = args.popFirst() else { fail("\(a) needs a value") }; return v }
        switch a {
        case "--records": records = Int(value()) ?? records
        case "--rounds": rounds = Int(value()) ?? rounds
        case "--keep": keep = value()
        case "--profile-encode": profileEncode = Int(value())
        case "-h", "--help":
            print("usage: DecisionLogBench [--records N] [--rounds N] [--keep DIR] [--profile-encode N]")
            exit(0)
        default: fail("unknown argument \(a)")
        }
    }
}

// A policy input as the gateway builds it (docs/POLICY_GUIDE.md), with a Keycloak-like token.
let inputText = """
{"request_id": "5f2c1a9e-0b7d-4c3e-9a8f-1d2e3f4a5b6c", "time_ns": 1764032523123456789, "route": "commands",
 "method": "PATCH", "scheme": "http", "host": "api.local", "path": "/api/commands/c-42/ack",
 "path_segments": ["api", "commands", "c-42", "ack"], "query": {"verbose": ["1"]},
 "headers": {"user-agent": "curl/8.5.0", "accept": "application/json", "content-type": "application/json",
             "x-forwarded-for": "10.0.0.7"},
 "source_ip": "127.0.0.1", "authenticated": true,
 "token": {"header": {"alg": "RS256", "kid": "kc-2026-rs256", "typ": "JWT"},
  "payload": {"exp": 1764032823, "iat": 1764032523, "iss": "http://127.0.0.1:8081/realms/systemupdate",
   "aud": ["portcullis", "account"], "sub": "3f1e2d4c-5b6a-4789-8c0d-1e2f3a4b5c6d", "azp": "portcullis",
   "scope": "openid profile email", "email": "operator@example.com",
   "realm_access": {"roles": ["default-roles-systemupdate", "offline_access", "operator"]}}}}
"""
let input: Value
do { input = try JSONReader.parse(inputText) } catch { fail("input: \(error)") }
// Distinct copies, as each request has its own input: records sharing one value would make the
// producer and the writer contend on its reference counts, which no gateway does.
let inputs: [Value] = (0..<256).map { _ in try! JSONReader.parse(inputText) }
let results: [Value] = (0..<256).map { _ in try! JSONReader.parse(#"{"allow": false, "status": 403, "reasons": ["no role grants commands:ack"]}"#) }
let result = Value.object(RegoObject(pairs: [(.string("allow"), .false), (.string("status"), .int(403)),
                                             (.string("reasons"), .array([.string("no role grants commands:ack")]))]))
let masks: [MaskRule]
do { masks = [try MaskRule(.upsert(.string("***")), pointer: "/input/token/payload/email")] } catch { fail("\(error)") }

@MainActor @inline(__always) func makeRecord(_ i: Int, _ base: Int64) -> DecisionRecord {
    DecisionRecord(timestampNs: base + Int64(i), requestID: "req", route: "commands", stage: .authz,
                   query: "data.systemupdate.authz.decision", input: inputs[i & 255], result: results[i & 255], revision: "3c9d2f1e0a7b",
                   status: 403, allowed: false, reasons: ["no role grants commands:ack"], evalNs: 2_100)
}

// ---------------------------------------------------------------------------------------------
// Logger rounds: enqueue cost on this thread, writer throughput on its own.

struct Round { let enqueueNs: Double; let writerPerSecond: Double; let dropped: UInt64; let bytes: Int }

@MainActor func runRound(_ index: Int) -> Round {
    let dir = keep ?? (NSTemporaryDirectory() + "decisionlogbench-" + UUID().uuidString)
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { if keep == nil { try? FileManager.default.removeItem(atPath: dir) } }
    var configuration = DecisionLogger.Configuration()
    var file = DecisionLogger.Configuration.File(path: dir + "/decisions-\(index).log")
    file.maxSize = 256 << 20
    configuration.file = file
    configuration.queueSize = records
    configuration.masks = masks
    configuration.labels = [.init("id", "bench"), .init("version", "bench")]
    let logger: DecisionLogger
    do { logger = try DecisionLogger(configuration: configuration) } catch { fail("\(error)") }
    logger.start()
    let base = Int64(Date().timeIntervalSince1970 * 1e9)
    let start = nowNanoseconds()
    for i in 0..<records { logger.log(makeRecord(i, base)) }
    let enqueued = nowNanoseconds()
    logger.flush()
    let flushed = nowNanoseconds()
    let stats = logger.statistics
    logger.shutdown()
    let bytes = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
    if stats.written + stats.dropped != UInt64(records) { fail("written \(stats.written) + dropped \(stats.dropped) != \(records)") }
    return Round(enqueueNs: Double(enqueued - start) / Double(records),
                 writerPerSecond: Double(stats.written) / (Double(flushed - start) / 1e9), dropped: stats.dropped, bytes: bytes)
}

// ---------------------------------------------------------------------------------------------
// References: encoding one record on the calling thread.

func foundationObject(_ v: Value) -> Any {
    switch v {
    case .null: return NSNull()
    case .bool(let b): return b
    case .number(let n): return n.intValue.map { $0 as Any } ?? n.double
    case .string(let s): return s
    case .array(let a): return a.map(foundationObject)
    case .set(let s): return s.elements.map(foundationObject)
    case .object(let o):
        var d: [String: Any] = [:]
        for i in 0..<o.count { d[o.keys[i].stringValue ?? o.keys[i].description] = foundationObject(o.values[i]) }
        return d
    }
}

let inputObject = foundationObject(input)
let resultObject = foundationObject(result)

@MainActor @inline(never) func referenceJSONSerialization(_ n: Int) -> Double {
    let start = nowNanoseconds()
    var total = 0
    for i in 0..<n {
        let record: [String: Any] = [
            "decision_id": "0b5e1c2d-3f4a-4b5c-8d6e-7f8091a2b3c4", "timestamp": "2025-11-25T01:02:03.123456789Z",
            "path": "systemupdate/authz/decision", "input": inputObject, "result": resultObject, "revision": "3c9d2f1e0a7b",
            "labels": ["id": "bench", "version": "bench"], "metrics": ["timer_rego_query_eval_ns": 2100],
            "request_id": "req-\(i)", "route": "commands", "stage": "authz", "status": 403, "allowed": false,
            "enforced": true, "reasons": ["no role grants commands:ack"],
        ]
        total &+= (try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]).count) ?? 0
    }
    if total == 42 { print("") }
    return Double(nowNanoseconds() - start) / Double(n)
}

@MainActor @inline(never) func referenceJSONWriter(_ n: Int) -> Double {
    let start = nowNanoseconds()
    var total = 0
    for _ in 0..<n { total &+= JSONWriter.write(input).utf8.count + JSONWriter.write(result).utf8.count }
    if total == 42 { print("") }
    return Double(nowNanoseconds() - start) / Double(n)
}

@MainActor @inline(never) func encodeOnly(_ n: Int) -> Double {
    let encoder = RecordEncoder(masks: masks, labels: [.init("id", "bench"), .init("version", "bench")])
    let start = nowNanoseconds()
    var total = 0
    for i in 0..<n { total &+= encoder.encode(makeRecord(i, 1)).count }
    if total == 42 { print("") }
    return Double(nowNanoseconds() - start) / Double(n)
}

/// The producer alone: a logger whose writer is not running (the queue holds every record).
@MainActor @inline(never) func enqueueIdleWriter(_ n: Int) -> Double {
    var configuration = DecisionLogger.Configuration()
    configuration.queueSize = n
    configuration.batchSize = n
    configuration.ringSize = 0
    let logger = try! DecisionLogger(configuration: configuration)
    let start = nowNanoseconds()
    for i in 0..<n { logger.log(makeRecord(i, 1)) }
    let ns = Double(nowNanoseconds() - start) / Double(n)
    logger.shutdown()
    return ns
}

@MainActor @inline(never) func buildOnly(_ n: Int) -> Double {
    let base = Int64(1)
    let start = nowNanoseconds()
    var total = 0
    for i in 0..<n { let r = makeRecord(i, base); total &+= r.status }
    if total == 42 { print("") }
    return Double(nowNanoseconds() - start) / Double(n)
}

if let n = profileEncode {
    print(String(format: "%.0f ns per encode", encodeOnly(n)))
    exit(0)
}

_ = runRound(-1)  // warm-up
var enqueue: [Double] = [], writer: [Double] = [], serialization: [Double] = [], writerRef: [Double] = [], build: [Double] = []
var encodeTimes: [Double] = [], idleEnqueue: [Double] = []
var dropped: UInt64 = 0
var bytesPerRecord = 0.0
for r in 0..<rounds {
    let round = runRound(r)
    enqueue.append(round.enqueueNs)
    writer.append(round.writerPerSecond)
    dropped += round.dropped
    bytesPerRecord = Double(round.bytes) / Double(records)
    serialization.append(referenceJSONSerialization(20_000))
    writerRef.append(referenceJSONWriter(20_000))
    build.append(buildOnly(records))
    encodeTimes.append(encodeOnly(20_000))
    idleEnqueue.append(enqueueIdleWriter(min(records, 100_000)))
}

let enqueueMedian = median(enqueue), writerMedian = median(writer)
let serializationMedian = median(serialization)
print("DecisionLog benchmark: \(records) records per round, \(rounds) rounds (medians), ~\(Int(bytesPerRecord)) bytes per record")
print(String(format: "request path: build record + log()      %8.0f ns per request (building the record alone: %.0f ns)", enqueueMedian, median(build)))
print(String(format: "request path, writer idle (no contention)  %6.0f ns per request", median(idleEnqueue)))
print(String(format: "writer thread: scrub, mask, encode, write %8.0f records/s (%.2f µs per record)", writerMedian, 1e6 / writerMedian))
print(String(format: "writer's share: scrub + mask + encode       %8.0f ns per record (RecordEncoder.encode, one thread)", median(encodeTimes)))
print(String(format: "reference: JSONSerialization of a record %8.0f ns per record (what encoding on the event loop would cost)", serializationMedian))
print(String(format: "reference: RegoLite JSONWriter input+result %5.0f ns per record", median(writerRef)))
print(String(format: "budget: enqueue ≤ 5%% of a 25 µs request (1250 ns): %@; dropped: %llu",
             enqueueMedian <= 1250 ? "holds" : "EXCEEDED", dropped))
print("{\"enqueue_ns\": \(String(format: "%.1f", enqueueMedian)), \"build_ns\": \(String(format: "%.1f", median(build))), "
      + "\"writer_records_per_s\": \(String(format: "%.0f", writerMedian)), \"encode_ns\": \(String(format: "%.1f", median(encodeTimes))), "
      + "\"jsonserialization_ns\": \(String(format: "%.1f", serializationMedian)), \"jsonwriter_ns\": \(String(format: "%.1f", median(writerRef))), "
      + "\"bytes_per_record\": \(Int(bytesPerRecord)), \"dropped\": \(dropped)}")
