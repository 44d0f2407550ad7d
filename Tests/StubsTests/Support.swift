import AsyncHTTPClient
import Foundation
import JOSE
import NIOCore
import NIOHTTP1
import Stubs
import Testing

struct StubAnswer {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    var json: JSONValue { (try? JSONParser.parse(bytes: body)) ?? .null }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// The stubs on free loopback ports, with an HTTP client for them.
struct RunningStubs {
    let stubs: StubServices
    let ports: [String: Int]
    let client: HTTPClient

    func url(_ service: String, _ path: String) -> String { "http://127.0.0.1:\(ports[service]!)\(path)" }

    func request(_ method: HTTPMethod, _ service: String, _ path: String, headers: [(String, String)] = [],
                 body: [UInt8]? = nil) async throws -> StubAnswer {
        var request = HTTPClientRequest(url: url(service, path))
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: .seconds(10))
        var collected = try await response.body.collect(upTo: 1 << 20)
        return StubAnswer(status: Int(response.status.code), headers: response.headers,
                          body: collected.readBytes(length: collected.readableBytes) ?? [])
    }

    func json(_ method: HTTPMethod, _ service: String, _ path: String, _ body: String) async throws -> StubAnswer {
        try await request(method, service, path, headers: [("Content-Type", "application/json")], body: Array(body.utf8))
    }
}

/// Runs `body` against freshly started stubs, stopped afterwards whatever happens.
func withStubs(_ body: (RunningStubs) async throws -> Void) async throws {
    let stubs = StubServices(host: "127.0.0.1", basePort: 0)
    let listening = try await stubs.start()
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    let running = RunningStubs(stubs: stubs, ports: Dictionary(uniqueKeysWithValues: listening.map { ($0.service, $0.port) }),
                               client: client)
    do {
        try await body(running)
    } catch {
        try? await client.shutdown()
        await stubs.stop()
        throw error
    }
    try? await client.shutdown()
    await stubs.stop()
}
