import JOSE
import NIOHTTP1

/// The device registry: `GET/POST /devices`, `GET/PUT/PATCH/DELETE /devices/{id}`.
/// Starts with two devices, `d-1` and `d-2`.
struct DeviceService: StubService {
    let name = "device"
    let prefixes = ["devices"]
    let devices = StubCollection(idPrefix: "d", seed: [
        ["id": "d-1", "name": "boiler-controller", "model": "SU-100", "firmware": "1.4.2", "status": "online"],
        ["id": "d-2", "name": "pump-station", "model": "SU-200", "firmware": "2.0.1", "status": "offline"],
    ])

    func respond(_ request: StubRequest) -> StubResponse? {
        guard let rest = StubRouting.rest(self, request) else { return nil }
        switch rest.count {
        case 0:
            switch request.method {
            case .GET, .HEAD:
                return .json(.ok, ["devices": .array(devices.all.map { .object($0) }), "count": .number(JSONNumber(devices.count))])
            case .POST:
                let body: JSONObject
                switch request.jsonObject() {
                case .object(let object): body = object
                case .invalid(let response): return response
                }
                var device = body
                if device["status"] == nil { device["status"] = "registered" }
                device["created_at"] = .string(StubClock.timestamp())
                guard let stored = devices.insert(device) else {
                    return .error(.conflict, "conflict", "device \(body["id"]?.stringValue ?? "") exists already", requestID: request.requestID)
                }
                return .json(.created, .object(stored), headers: [("Location", "/devices/\(stored["id"]?.stringValue ?? "")")])
            default:
                return .methodNotAllowed(request, allowed: [.GET, .HEAD, .POST])
            }
        case 1:
            let id = rest[0]
            switch request.method {
            case .GET, .HEAD:
                guard let device = devices.get(id) else { return unknown(id, request) }
                return .json(.ok, .object(device))
            case .PUT:
                switch request.jsonObject() {
                case .object(let body):
                    let (stored, created) = devices.put(id, body)
                    return .json(created ? .created : .ok, .object(stored))
                case .invalid(let response): return response
                }
            case .PATCH:
                switch request.jsonObject() {
                case .object(let body):
                    guard let updated = devices.update(id, body) else { return unknown(id, request) }
                    return .json(.ok, .object(updated))
                case .invalid(let response): return response
                }
            case .DELETE:
                guard devices.delete(id) else { return unknown(id, request) }
                return StubResponse(status: .noContent)
            default:
                return .methodNotAllowed(request, allowed: [.GET, .HEAD, .PUT, .PATCH, .DELETE])
            }
        default:
            return nil
        }
    }

    private func unknown(_ id: String, _ request: StubRequest) -> StubResponse {
        .error(.notFound, "not_found", "no device \(id)", requestID: request.requestID)
    }
}
