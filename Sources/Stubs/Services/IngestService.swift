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
