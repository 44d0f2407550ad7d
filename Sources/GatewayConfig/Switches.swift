/// Which environment switches were set (nil = unset: routes.yaml decides). Recorded on the
/// configuration so `/v1/status` can show them.
public struct SwitchState: Sendable, Equatable {
    /// `AUTH_REQUIRED`
    public var authRequired: Bool?
    /// `AUTHZ_REQUIRED`
    public var authzRequired: Bool?
    /// `OPA_REQUIRED`
    public var opaRequired: Bool?

    public init(authRequired: Bool? = nil, authzRequired: Bool? = nil, opaRequired: Bool? = nil) {
        self.authRequired = authRequired
        self.authzRequired = authzRequired
        self.opaRequired = opaRequired
    }

    /// True when no switch is set.
    public var isEmpty: Bool { authRequired == nil && authzRequired == nil && opaRequired == nil }
}

/// The environment overrides of routes.yaml (DESIGN.md, "Switches"; docs/ROUTES.md):
///
/// | variable | `1` / `true` | `0` / `false` |
/// | --- | --- | --- |
/// | `AUTH_REQUIRED` | every route whose auth mode is not `public` becomes `required` | every `required` route becomes `optional` (a token is still verified when present; `public` stays `public`) |
/// | `AUTHZ_REQUIRED` | every route whose policy mode is not `off` becomes `enforce` | every `enforce` route becomes `dry_run` (`off` stays `off`) |
/// | `OPA_REQUIRED` | `policy.required = true`: no policy loaded → 503 | `policy.required = false`: no policy loaded → allow, with a warning |
///
/// Values: `1`, `0`, `true`, `false` (case-insensitive). Unset means routes.yaml decides; any other
/// value, the empty string included, is a configuration error naming the variable.
public enum Switches {
    public static let authRequired = "AUTH_REQUIRED"
    public static let authzRequired = "AUTHZ_REQUIRED"
    public static let opaRequired = "OPA_REQUIRED"

    /// Reads the three variables. Every bad value is reported, each as a problem of the file
    /// `environment` without a line.
    public static func read(environment: [String: String]) throws(ConfigError) -> SwitchState {
        var problems: [ConfigError.Problem] = []
        func value(_ name: String) -> Bool? {
            guard let raw = environment[name] else { return nil }
            switch raw.lowercased() {
            case "1", "true": return true
            case "0", "false": return false
            default:
                problems.append(ConfigError.Problem(
                    file: "environment", line: 0, column: 0,
                    message: "\(name)='\(raw.debugEscaped)' is not a switch value: use 1, 0, true or false, "
                        + "or unset it to let routes.yaml decide"))
                return nil
            }
        }
        let state = SwitchState(authRequired: value(authRequired), authzRequired: value(authzRequired),
                                opaRequired: value(opaRequired))
        if !problems.isEmpty { throw ConfigError(problems: problems) }
        return state
    }

    /// The configuration with `state` applied and recorded in `switches`.
    public static func apply(_ state: SwitchState, to configuration: GatewayConfiguration) -> GatewayConfiguration {
        var config = configuration
        config.switches = state
        for index in config.routes.indices {
            switch (state.authRequired, config.routes[index].auth.mode) {
            case (true?, .optional): config.routes[index].auth.mode = .required
            case (false?, .required): config.routes[index].auth.mode = .optional
            default: break
            }
            switch (state.authzRequired, config.routes[index].policy.mode) {
            case (true?, .dryRun): config.routes[index].policy.mode = .enforce
            case (false?, .enforce): config.routes[index].policy.mode = .dryRun
            default: break
            }
        }
        if let opa = state.opaRequired { config.policy.required = opa }
        return config
    }
}
