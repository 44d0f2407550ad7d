import JOSE
import NIOHTTP1

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
