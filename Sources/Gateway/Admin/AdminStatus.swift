import DecisionLog
import Foundation
import RegoLite

/// `/v1/status`: what an on-call engineer asks first — which version, which configuration and
/// policy revision, whether the issuers' keys are usable, which routes exist.
enum AdminStatus {
    static func status(_ gateway: Gateway) -> Value {
        let core = gateway.core
        let config = core.config
        let policy = core.policy.status
        func s(_ text: String?) -> Value { text.map(Value.string) ?? .null }
        func time(_ date: Date?) -> Value { date.map { .string(ISO8601DateFormatter().string(from: $0)) } ?? .null }
        func time(_ seconds: Double?) -> Value { seconds.map { time(Date(timeIntervalSince1970: $0)) } ?? .null }
        func obj(_ members: [(String, Value)]) -> Value { .object(RegoObject(pairs: members.map { (.string($0.0), $0.1) })) }

        let issuers: [Value] = core.authenticator?.states().map { state in
            obj([
                ("issuer", .string(state.issuer)), ("jwks_uri", s(state.jwksURI)),
                ("key_ids", .array(state.keyIDs.map(Value.string))), ("usable", .bool(state.usable)),
                ("fetched_at", time(state.fetchedAt)), ("expires_at", time(state.expiresAt)),
                ("last_error", s(state.lastError)), ("last_error_at", time(state.lastErrorAt)),
                ("fetches", obj(state.fetches.map { ($0.key, .number(.int(Int64($0.value)))) })),
            ])
        } ?? []
        let routes: [Value] = config.router.routes.map { route in
            obj([
                ("id", .string(route.id)), ("auth", .string(route.authMode.rawValue)),
                ("policy_query", .string(route.policyQuery)), ("policy_mode", .string(route.policyMode.rawValue)),
                ("upstreams", .array(route.upstreams.map { .string($0.description) })),
                ("websocket", .bool(route.websocket != nil)),
            ])
        }
        let switches = config.configuration.switches
        func flag(_ value: Bool?) -> Value { value.map(Value.bool) ?? .null }
        let reload = gateway.lastReloadState
        let readiness = gateway.readiness()
        return obj([
            ("version", .string(Gateway.version)),
            ("started_at", time(gateway.startedAt)),
            ("ready", .bool(readiness.ready)),
            ("config", obj([
                ("source", .string(config.configuration.source)), ("revision", .number(.int(Int64(config.revision)))),
                ("loaded_at", time(config.loadedAt)), ("last_reload_at", time(reload?.at)), ("last_reload_error", s(reload?.error ?? nil)),
            ])),
            ("switches", obj([
                ("AUTH_REQUIRED", flag(switches.authRequired)), ("AUTHZ_REQUIRED", flag(switches.authzRequired)),
                ("OPA_REQUIRED", flag(switches.opaRequired)),
            ])),
            ("policy", obj([
                ("directory", s(config.configuration.policy.directory)), ("git", s(config.configuration.policy.git?.url)),
                ("required", .bool(config.configuration.policy.required)),
                ("revision", s(policy.revision)), ("loaded_at", time(policy.loadedAt)),
                ("last_error", s(policy.lastError)), ("last_error_at", time(policy.lastErrorAt)),
                ("loads", .number(.int(Int64(policy.loads)))), ("failures", .number(.int(Int64(policy.failures)))),
            ])),
            ("policy_sync", gateway.syncer?.status.json ?? .null),
            ("decision_log", core.decisionLog?.statistics.json ?? .null),
            ("issuers", .array(issuers)),
            ("routes", .array(routes)),
            ("active_tunnels", .number(.int(Int64(core.activeTunnels.load(ordering: .relaxed))))),
        ])
    }
}
