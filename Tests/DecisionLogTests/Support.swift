import Foundation
import RegoLite
@testable import DecisionLog

/// A fresh temporary directory, removed by `cleanup()`.
struct TemporaryDirectory {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "decisionlog-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

func json(_ text: String) -> Value { try! JSONReader.parse(text) }

func sampleRecord(_ n: Int = 0, allowed: Bool = true, route: String = "devices", sub: String = "alice",
                  timestampNs: Int64 = 1_764_000_000_000_000_000, input: Value? = nil) -> DecisionRecord {
    let input = input ?? json("""
        {"request_id": "req-\(n)", "method": "GET", "path": "/api/devices/\(n)", "route": "\(route)",
         "headers": {"user-agent": "t"}, "authenticated": true,
         "token": {"header": {"alg": "RS256"}, "payload": {"sub": "\(sub)"}}}
        """)
    return DecisionRecord(timestampNs: timestampNs, requestID: "req-\(n)", route: route, stage: .authz,
                          query: "data.systemupdate.authz.allow", input: input, result: .bool(allowed), revision: "abc123",
                          status: allowed ? 200 : 403, allowed: allowed, reasons: allowed ? [] : ["no role grants x"], evalNs: 1234)
}

/// Every line of the file and its rotated siblings (`path.1`, ...), oldest first.
func allLines(_ path: String) -> [String] {
    var files: [String] = []
    var i = 1
    while FileManager.default.fileExists(atPath: "\(path).\(i)") { files.insert("\(path).\(i)", at: 0); i += 1 }
    files.append(path)
    return files.flatMap { file -> [String] in
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init)
    }
}
