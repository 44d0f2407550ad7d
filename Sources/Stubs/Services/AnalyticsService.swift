import JOSE
import NIOHTTP1
import Synchronization

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
