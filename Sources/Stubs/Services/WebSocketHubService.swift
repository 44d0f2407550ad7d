import JOSE
import NIOHTTP1

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
