import JOSE
import Stubs
import Testing

@Suite("Stub services over loopback")
struct StubEndpointTests {
    @Test func everyServiceAnswersItsHealthChecks() async throws {
        let prefixes = ["device": "devices", "command": "commands", "data-ingest": "ingest", "analytics": "analytics",
                        "notification": "notify", "auth": "auth", "ws-hub": "ws"]
        try await withStubs { stubs in
            #expect(Set(stubs.ports.keys) == Set(StubServices.serviceNames))
            for service in StubServices.serviceNames {
                for path in ["/healthz", "/\(prefixes[service]!)/healthz"] {
                    let answer = try await stubs.request(.GET, service, path)
                    #expect(answer.status == 200, "\(service) \(path)")
                    #expect(answer.json["service"]?.stringValue == service)
                }
            }
        }
    }

    @Test func startFailsWhenAPortIsTaken() async throws {
        #expect(StubServices.serviceNames == ["device", "command", "data-ingest", "analytics", "notification", "auth", "ws-hub"])
        try await withStubs { stubs in
            let second = StubServices(host: "127.0.0.1", basePort: stubs.ports["device"]!)
            await #expect(throws: (any Error).self) { _ = try await second.start() }
        }
    }

    @Test func echoShowsTheRequestLineAndEveryHeaderAsReceived() async throws {
        try await withStubs { stubs in
            let answer = try await stubs.request(.POST, "device", "/devices/echo?x=1",
                                                 headers: [("X-Auth-Subject", "alice"), ("X-Auth-Subject", "spoofed"), ("X-Request-ID", "req-42")],
                                                 body: Array("ping".utf8))
            #expect(answer.status == 200)
            let echo = answer.json
            #expect(echo["method"] == "POST" && echo["target"] == "/devices/echo?x=1" && echo["path"] == "/devices/echo")
            #expect(echo["query"] == "x=1" && echo["version"] == "HTTP/1.1" && echo["body"] == "ping")
            #expect(echo["headers"]?["x-auth-subject"] == "alice, spoofed")
            let pairs = echo["header_list"]?.arrayValue?.compactMap { $0.arrayValue?.compactMap(\.stringValue) } ?? []
            #expect(pairs.filter { $0.first == "X-Auth-Subject" }.map { $0[1] } == ["alice", "spoofed"])
            #expect(answer.headers.first(name: "X-Request-ID") == "req-42" && echo["request_id"] == "req-42")
            let root = try await stubs.request(.GET, "ws-hub", "/echo")
            #expect(root.status == 200 && root.json["service"] == "ws-hub")
        }
    }

    @Test func everyResponseCarriesARequestIDAndProcessTime() async throws {
        try await withStubs { stubs in
            for (headers, kept) in [([("X-Request-ID", "abc-1")], true), ([("X-Request-ID", "has space")], false), ([], false)] {
                let answer = try await stubs.request(.GET, "analytics", "/analytics/nowhere", headers: headers)
                #expect(answer.status == 404)
                let id = try #require(answer.headers.first(name: "X-Request-ID"))
                #expect(kept ? id == "abc-1" : (id.count == 32 && id != "has space"))
                let time = try #require(answer.headers.first(name: "X-Process-Time"))
                #expect(Double(time) != nil && time.split(separator: ".").last?.count == 6)
                #expect(answer.json["error"]?["code"] == "not_found" && answer.json["error"]?["request_id"]?.stringValue == id)
            }
        }
    }

    @Test func commandIsCreatedThenAcknowledged() async throws {
        try await withStubs { stubs in
            let created = try await stubs.json(.POST, "command", "/commands", #"{"device_id": "d-1", "command": "reboot"}"#)
            #expect(created.status == 201)
            let id = try #require(created.json["id"]?.stringValue)
            #expect(created.json["status"] == "pending" && created.headers.first(name: "Location") == "/commands/\(id)")
            let acked = try await stubs.request(.PATCH, "command", "/commands/\(id)/ack", headers: [("X-Auth-Subject", "u-1")])
            #expect(acked.status == 200 && acked.json["status"] == "acknowledged" && acked.json["acked_by"] == "u-1")
            #expect(try await stubs.request(.GET, "command", "/commands/\(id)").json["status"] == "acknowledged")
            #expect(try await stubs.request(.PATCH, "command", "/commands/c-999/ack").status == 404)
            let wrongMethod = try await stubs.request(.POST, "command", "/commands/\(id)/ack")
            #expect(wrongMethod.status == 405 && wrongMethod.headers.first(name: "Allow") == "PATCH")
            #expect(wrongMethod.json["error"]?["code"] == "method_not_allowed")
        }
    }

    @Test func devicesSupportTheWholeLifecycle() async throws {
        try await withStubs { stubs in
            #expect(try await stubs.request(.GET, "device", "/devices/d-1").json["name"] == "boiler-controller")
            let created = try await stubs.json(.POST, "device", "/devices", #"{"name": "valve"}"#)
            #expect(created.status == 201)
            let id = try #require(created.json["id"]?.stringValue)
            #expect(try await stubs.json(.PATCH, "device", "/devices/\(id)", #"{"status": "online"}"#).json["status"] == "online")
            #expect(try await stubs.json(.PUT, "device", "/devices/\(id)", #"{"name": "valve-2"}"#).json["status"] == nil)
            #expect(try await stubs.request(.DELETE, "device", "/devices/\(id)").status == 204)
            #expect(try await stubs.request(.GET, "device", "/devices/\(id)").status == 404)
            #expect(try await stubs.json(.POST, "device", "/devices", #"{"id": "d-1"}"#).status == 409)
            let bad = try await stubs.json(.POST, "device", "/devices", "{not json")
            #expect(bad.status == 400 && bad.json["error"]?["code"] == "bad_request")
        }
    }

    @Test func ingestAcceptsAndNotificationsAreListed() async throws {
        try await withStubs { stubs in
            #expect(try await stubs.request(.POST, "data-ingest", "/ingest", body: [1, 2, 3]).status == 202)
            #expect(try await stubs.request(.POST, "data-ingest", "/ingest/temperature", body: [1]).json["stream"] == "temperature")
            #expect(try await stubs.json(.POST, "notification", "/notify", #"{"text": "hi"}"#).status == 201)
            let listed = try await stubs.request(.GET, "notification", "/notifications")
            #expect(listed.json["count"] == 1)
            #expect(try await stubs.request(.GET, "analytics", "/analytics/summary").json["window"] == "24h")
        }
    }

    @Test func oversizedBodyIsRefusedWith413() async throws {
        try await withStubs { stubs in
            let answer = try await stubs.request(.POST, "data-ingest", "/ingest", body: [UInt8](repeating: 7, count: 70_000))
            #expect(answer.status == 413 && answer.json["error"]?["code"] == "payload_too_large")
        }
    }
}

@Suite("WebSocket hub")
struct WebSocketHubTests {
    @Test func echoesTextBinaryAndPingThenClosesCleanly() async throws {
        try await withStubs { stubs in
            let socket = try RawWebSocket(port: stubs.ports["ws-hub"]!)
            let head = try socket.upgrade(path: "/ws/room-1")
            #expect(head.hasPrefix("HTTP/1.1 101"))
            #expect(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))  // RFC 6455's example accept value

            try socket.sendFrame(opcode: 0x1, payload: Array("hello".utf8))
            #expect(try socket.readFrame() == .init(fin: true, opcode: 0x1, payload: Array("hello".utf8)))
            try socket.sendFrame(opcode: 0x2, payload: [0, 1, 2, 255])
            #expect(try socket.readFrame() == .init(fin: true, opcode: 0x2, payload: [0, 1, 2, 255]))
            try socket.sendFrame(opcode: 0x9, payload: Array("p".utf8))
            #expect(try socket.readFrame() == .init(fin: true, opcode: 0xA, payload: Array("p".utf8)))
            let long = [UInt8](repeating: 0x61, count: 300)
            try socket.sendFrame(opcode: 0x1, payload: long)
            #expect(try socket.readFrame().payload == long)

            try socket.sendFrame(opcode: 0x8, payload: [0x03, 0xE8] + Array("bye".utf8))
            #expect(try socket.readFrame() == .init(fin: true, opcode: 0x8, payload: [0x03, 0xE8] + Array("bye".utf8)))
            #expect(socket.isClosedByPeer())
        }
    }

    @Test func plainRequestToTheHubIsToldToUpgrade() async throws {
        try await withStubs { stubs in
            let answer = try await stubs.request(.GET, "ws-hub", "/ws")
            #expect(answer.status == 426 && answer.json["error"]?["code"] == "upgrade_required")
        }
    }
}
