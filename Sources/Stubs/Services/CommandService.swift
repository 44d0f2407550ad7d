import JOSE
import NIOHTTP1

/// Commands for devices: `POST /commands` (201 with an id), `GET /commands`, `GET
/// /commands/{id}`, `PATCH /commands/{id}/ack`: the seed's security flow creates a command
/// and tries to acknowledge it (which the default policy refuses to an operator).
struct CommandService: StubService {
    let name = "command"
    let prefixes = ["commands"]
    let commands = StubCollection(idPrefix: "c")

    func respond(_ request: StubRequest) -> StubResponse? {
        guard let rest = StubRouting.rest(self, request) else { return nil }
        switch rest.count {
        case 0:
            switch request.method {
            case .GET, .HEAD:
                return .json(.ok, ["commands": .array(commands.all.map { .object($0) }), "count": .number(JSONNumber(commands.count))])
            case .POST:
                switch request.jsonObject() {
                case .object(var command):
                    command["id"] = nil
                    command["status"] = "pending"
                    command["created_at"] = .string(StubClock.timestamp())
                    if let subject = request.headers.first(name: "X-Auth-Subject") { command["created_by"] = .string(subject) }
                    let stored = commands.insert(command)!
                    return .json(.created, .object(stored), headers: [("Location", "/commands/\(stored["id"]?.stringValue ?? "")")])
                case .invalid(let response): return response
                }
            default:
                return .methodNotAllowed(request, allowed: [.GET, .HEAD, .POST])
            }
        case 1:
            guard request.method == .GET || request.method == .HEAD else { return .methodNotAllowed(request, allowed: [.GET, .HEAD]) }
            guard let command = commands.get(rest[0]) else { return unknown(rest[0], request) }
            return .json(.ok, .object(command))
        case 2 where rest[1] == "ack":
            guard request.method == .PATCH else { return .methodNotAllowed(request, allowed: [.PATCH]) }
            var changes: JSONObject = ["status": "acknowledged", "acked_at": .string(StubClock.timestamp())]
            if let subject = request.headers.first(name: "X-Auth-Subject") { changes["acked_by"] = .string(subject) }
            guard let updated = commands.update(rest[0], changes) else { return unknown(rest[0], request) }
            return .json(.ok, .object(updated))
        default:
            return nil
        }
    }

    private func unknown(_ id: String, _ request: StubRequest) -> StubResponse {
        .error(.notFound, "not_found", "no command \(id)", requestID: request.requestID)
    }
}
