import GatewayConfig
import NIOHTTP1

/// Where the bearer token of a request is (DESIGN.md phase 4): `Authorization: Bearer`, or for a
/// WebSocket upgrade on a route that allows it, a query parameter or a cookie.
enum TokenExtraction {
    enum Outcome: Equatable {
        case none
        /// The token as sent: for `Authorization`, a view of the field's value (no copy).
        case token(Substring)
        case malformed(String)
    }

    static func token(_ ctx: RequestContext, websocket: Route.WebSocket?) -> Outcome {
        if ctx.fields.authorizationCount > 1 { return .malformed("more than one Authorization header") }
        if let header = ctx.fields.authorization {
            let trimmed = header.trimmingOWS()
            guard let space = trimmed.utf8.firstIndex(where: { $0 == 0x20 || $0 == 0x09 }) else {
                return ASCII.equal(trimmed.utf8, "bearer") ? .malformed("the Bearer credentials are empty") : .none
            }
            // Another scheme (Basic, ...) is not ours: treated as no bearer token.
            guard ASCII.equal(trimmed.utf8[..<space], "bearer") else { return .none }
            let token = Substring(trimmed.utf8[space...]).trimmingOWS()
            guard !token.isEmpty else { return .malformed("the Bearer credentials are empty") }
            return .token(token)
        }
        guard let websocket else { return .none }
        if let parameter = websocket.tokenQuery, let query = ctx.target.query {
            for pair in query.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                if PolicyInput.formDecode(parts[0]) == parameter, parts.count == 2 {
                    ctx.tokenQueryParameter = parameter
                    let value = PolicyInput.formDecode(parts[1])
                    return value.isEmpty ? .malformed("the \(parameter) parameter is empty") : .token(Substring(value))
                }
            }
        }
        if let cookieName = websocket.tokenCookie {
            for header in ctx.head.headers["cookie"] {
                for cookie in header.split(separator: ";") {
                    let parts = cookie.trimmingOWS().split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    if parts.count == 2, parts[0] == cookieName {
                        ctx.tokenCookie = cookieName
                        return parts[1].isEmpty ? .malformed("the \(cookieName) cookie is empty") : .token(parts[1])
                    }
                }
            }
        }
        return .none
    }
}
