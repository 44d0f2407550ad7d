import JOSE
import Synchronization

/// An in-memory collection of JSON objects with ids minted as `<prefix>-<n>`: the state of the
/// devices, commands and notifications stubs.
final class StubCollection: Sendable {
    private struct State {
        var items: [String: JSONObject] = [:]
        var order: [String] = []
        var next = 1
    }

    private let idPrefix: String
    private let state = Mutex(State())

    init(idPrefix: String, seed: [JSONObject] = []) {
        self.idPrefix = idPrefix
        for item in seed { _ = insert(item) }
    }

    var all: [JSONObject] {
        state.withLock { state in state.order.compactMap { state.items[$0] } }
    }

    var count: Int { state.withLock { $0.order.count } }

    func get(_ id: String) -> JSONObject? { state.withLock { $0.items[id] } }

    /// Stores `item` under its `id` (a string) or a minted one; nil when that id exists already.
    func insert(_ item: JSONObject) -> JSONObject? {
        state.withLock { state in
            var id: String
            if let given = item["id"]?.stringValue, !given.isEmpty {
                id = given
            } else {
                repeat {
                    id = "\(idPrefix)-\(state.next)"
                    state.next += 1
                } while state.items[id] != nil
            }
            guard state.items[id] == nil else { return nil }
            var stored = JSONObject()
            stored["id"] = .string(id)
            for member in item where member.key != "id" { stored[member.key] = member.value }
            state.items[id] = stored
            state.order.append(id)
            return stored
        }
    }

    /// Replaces or creates `id`; `created` tells which.
    func put(_ id: String, _ item: JSONObject) -> (item: JSONObject, created: Bool) {
        state.withLock { state in
            var stored = JSONObject()
            stored["id"] = .string(id)
            for member in item where member.key != "id" { stored[member.key] = member.value }
            let created = state.items[id] == nil
            if created { state.order.append(id) }
            state.items[id] = stored
            return (stored, created)
        }
    }

    /// Merges `changes` into `id` (a JSON null removes a member); nil when `id` is unknown.
    func update(_ id: String, _ changes: JSONObject) -> JSONObject? {
        state.withLock { state in
            guard var item = state.items[id] else { return nil }
            for member in changes where member.key != "id" {
                item[member.key] = member.value == .null ? nil : member.value
            }
            state.items[id] = item
            return item
        }
    }

    func delete(_ id: String) -> Bool {
        state.withLock { state in
            guard state.items.removeValue(forKey: id) != nil else { return false }
            state.order.removeAll { $0 == id }
            return true
        }
    }
}
