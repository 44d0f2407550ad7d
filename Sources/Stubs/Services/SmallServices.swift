import JOSE
import NIOHTTP1
import Synchronization

/// Telemetry intake: `POST /ingest` and `POST /ingest/{stream}` accept any body with 202.
final class IngestService: StubService {
    let name = "data-ingest"
    let prefixes = ["ingest"]
    let received = Mutex((batches: 0, bytes: 0))

    func respond(_ request: StubRequest) -> StubResponse? {
        guard let rest = StubRouting.rest(self, request), rest.count <= 1 else { return nil }
        guard request.method == .POST else {
            if rest.isEmpty, request.method == .GET || request.method == .HEAD {
                let totals = received.withLock { $0 }
                return .json(.ok, ["batches": .number(JSONNumber(totals.batches)), "bytes": .number(JSONNumber(totals.bytes))])
            }
            return .methodNotAllowed(request, allowed: rest.isEmpty ? [.GET, .HEAD, .POST] : [.POST])
        }
        let batch = received.withLock { totals in
            totals.batches += 1
            totals.bytes += request.body.count
            return totals.batches
        }
        return .json(.accepted, ["accepted": true, "id": .string("i-\(batch)"), "stream": .string(rest.first ?? "default"),
                                 "bytes": .number(JSONNumber(request.body.count))])
    }
}

/// Read-only analytics: `GET /analytics`, `/analytics/summary`, `/analytics/devices/{id}`.
final class AnalyticsService: StubService {
    let name = "analytics"
    let prefixes = ["analytics"]
    let reads = Mutex(0)

    func respond(_ request: StubRequest) -> StubResponse? {
        guard let rest = StubRouting.rest(self, request) else { return nil }
        guard request.method == .GET || request.method == .HEAD else { return .methodNotAllowed(request, allowed: [.GET, .HEAD]) }
        let count = reads.withLock { reads in
            reads += 1
            return reads
        }
        switch rest {
        case []:
            return .json(.ok, ["reports": ["summary", "devices/{id}"]])
        case ["summary"]:
            return .json(.ok, ["window": "24h", "devices_online": 1, "devices_offline": 1, "commands_pending": 0,
                               "reads_served": .number(JSONNumber(count)), "generated_at": .string(StubClock.timestamp())])
        case let path where path.count == 2 && path[0] == "devices":
            return .json(.ok, ["device_id": .string(path[1]), "window": "24h", "uptime_ratio": 0.98, "messages": 1440])
        default:
            return nil
        }
    }
}

/// Notifications: `GET /notify` or `/notifications` lists, `POST` sends (201), `GET
/// /notifications/{id}` reads one.
struct NotificationService: StubService {
    let name = "notification"
    let prefixes = ["notify", "notifications"]
    let notifications = StubCollection(idPrefix: "n")

    func respond(_ request: StubRequest) -> StubResponse? {
        guard let rest = StubRouting.rest(self, request) else { return nil }
        switch rest.count {
        case 0:
            switch request.method {
            case .GET, .HEAD:
                return .json(.ok, ["notifications": .array(notifications.all.map { .object($0) }),
                                   "count": .number(JSONNumber(notifications.count))])
            case .POST:
                switch request.jsonObject() {
                case .object(var notification):
                    notification["id"] = nil
                    notification["status"] = "sent"
                    notification["sent_at"] = .string(StubClock.timestamp())
                    if let subject = request.headers.first(name: "X-Auth-Subject") { notification["sent_by"] = .string(subject) }
                    return .json(.created, .object(notifications.insert(notification)!))
                case .invalid(let response): return response
                }
            default:
                return .methodNotAllowed(request, allowed: [.GET, .HEAD, .POST])
            }
        case 1:
            guard request.method == .GET || request.method == .HEAD else { return .methodNotAllowed(request, allowed: [.GET, .HEAD]) }
            guard let notification = notifications.get(rest[0]) else {
                return .error(.notFound, "not_found", "no notification \(rest[0])", requestID: request.requestID)
            }
            return .json(.ok, .object(notification))
        default:
            return nil
        }
    }
}

/// The seed's auth service behind the public `/auth` route. It issues no tokens (those come
/// from the dev issuer); it shows what the gateway forwarded.
struct AuthService: StubService {
    let name = "auth"
    let prefixes = ["auth"]

    func respond(_ request: StubRequest) -> StubResponse? {
        guard let rest = StubRouting.rest(self, request) else { return nil }
        switch rest {
        case [], ["status"]:
            guard request.method == .GET || request.method == .HEAD else { return .methodNotAllowed(request, allowed: [.GET, .HEAD]) }
            return .json(.ok, ["service": "auth", "status": "ok",
                               "note": "stub: tokens come from the dev issuer's token endpoint, not from this service"])
        case ["whoami"]:
            guard request.method == .GET || request.method == .HEAD else { return .methodNotAllowed(request, allowed: [.GET, .HEAD]) }
            func header(_ name: String) -> JSONValue { request.headers.first(name: name).map { .string($0) } ?? .null }
            return .json(.ok, ["subject": header("X-Auth-Subject"), "issuer": header("X-Auth-Issuer"), "roles": header("X-Auth-Roles")])
        case ["login"]:
            guard request.method == .POST else { return .methodNotAllowed(request, allowed: [.POST]) }
            switch request.jsonObject() {
            case .object(let body):
                return .json(.ok, ["login": "accepted", "username": body["username"] ?? .null,
                                   "note": "stub: no token is issued here; use the dev issuer's token endpoint"])
            case .invalid(let response): return response
            }
        default:
            return nil
        }
    }
}

/// The WebSocket hub's plain HTTP side: `/ws` (and below) only upgrades.
struct WebSocketHubService: StubService {
    let name = "ws-hub"
    let prefixes = ["ws"]

    func respond(_ request: StubRequest) -> StubResponse? {
        guard StubRouting.rest(self, request) != nil else { return nil }
        return .error(.upgradeRequired, "upgrade_required", "\(request.path) speaks WebSocket only (send Upgrade: websocket)",
                      requestID: request.requestID, headers: [("Upgrade", "websocket")])
    }
}
