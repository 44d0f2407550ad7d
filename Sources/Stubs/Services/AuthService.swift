import JOSE
import NIOHTTP1

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
