import Testing
@testable import GatewayConfig

@Suite struct SwitchTests {
    /// Four routes covering every auth and policy mode.
    static let yaml = header + """
          - id: req
            match: {path_prefix: /a}
            \(u)
            policy: {mode: enforce}
          - id: opt
            match: {path_prefix: /b}
            \(u)
            auth: {mode: optional}
            policy: {mode: dry_run}
          - id: pub
            match: {path_prefix: /c}
            \(u)
            auth: {mode: public}
            policy: {mode: off}
          - id: req2
            match: {path_prefix: /d}
            \(u)
            policy: {mode: dry_run}

        """

    struct Case: Sendable, CustomTestStringConvertible {
        let variable: String
        let value: String?
        let auth: [Route.AuthMode]
        let policy: [Route.PolicyMode]
        let opaRequired: Bool
        let state: SwitchState
        var testDescription: String { "\(variable)=\(value ?? "unset")" }
    }

    static let asWritten: [Route.AuthMode] = [.required, .optional, .public, .required]
    static let policyAsWritten: [Route.PolicyMode] = [.enforce, .dryRun, .off, .dryRun]

    static let cases: [Case] = [
        Case(variable: "AUTH_REQUIRED", value: nil, auth: asWritten, policy: policyAsWritten, opaRequired: true, state: SwitchState()),
        Case(variable: "AUTH_REQUIRED", value: "1", auth: [.required, .required, .public, .required], policy: policyAsWritten,
             opaRequired: true, state: SwitchState(authRequired: true)),
        Case(variable: "AUTH_REQUIRED", value: "true", auth: [.required, .required, .public, .required], policy: policyAsWritten,
             opaRequired: true, state: SwitchState(authRequired: true)),
        Case(variable: "AUTH_REQUIRED", value: "0", auth: [.optional, .optional, .public, .optional], policy: policyAsWritten,
             opaRequired: true, state: SwitchState(authRequired: false)),
        Case(variable: "AUTH_REQUIRED", value: "FALSE", auth: [.optional, .optional, .public, .optional], policy: policyAsWritten,
             opaRequired: true, state: SwitchState(authRequired: false)),
        Case(variable: "AUTHZ_REQUIRED", value: nil, auth: asWritten, policy: policyAsWritten, opaRequired: true, state: SwitchState()),
        Case(variable: "AUTHZ_REQUIRED", value: "1", auth: asWritten, policy: [.enforce, .enforce, .off, .enforce],
             opaRequired: true, state: SwitchState(authzRequired: true)),
        Case(variable: "AUTHZ_REQUIRED", value: "0", auth: asWritten, policy: [.dryRun, .dryRun, .off, .dryRun],
             opaRequired: true, state: SwitchState(authzRequired: false)),
        Case(variable: "OPA_REQUIRED", value: nil, auth: asWritten, policy: policyAsWritten, opaRequired: true, state: SwitchState()),
        Case(variable: "OPA_REQUIRED", value: "1", auth: asWritten, policy: policyAsWritten, opaRequired: true,
             state: SwitchState(opaRequired: true)),
        Case(variable: "OPA_REQUIRED", value: "0", auth: asWritten, policy: policyAsWritten, opaRequired: false,
             state: SwitchState(opaRequired: false)),
    ]

    @Test(arguments: cases)
    func switchStates(_ c: Case) throws {
        let environment = c.value.map { [c.variable: $0] } ?? [:]
        let config = try parse(Self.yaml, environment: environment)
        #expect(config.routes.map(\.auth.mode) == c.auth)
        #expect(config.routes.map(\.policy.mode) == c.policy)
        #expect(config.policy.required == c.opaRequired)
        #expect(config.switches == c.state)
    }

    @Test func opaRequiredOneOverridesAFileThatSaysFalse() throws {
        let yaml = Self.yaml.replacingOccurrences(of: "directory: policies", with: "directory: policies\n  required: false")
        #expect(try parse(yaml).policy.required == false)
        #expect(try parse(yaml, environment: ["OPA_REQUIRED": "1"]).policy.required == true)
    }

    @Test(arguments: ["AUTH_REQUIRED", "AUTHZ_REQUIRED", "OPA_REQUIRED"])
    func badValuesNameTheVariable(variable: String) {
        for value in ["yes", "", "2", " 1", "on"] {
            let found = problems(Self.yaml, environment: [variable: value])
            #expect(found.count == 1, "\(found)")
            #expect(found.first?.description == "environment: \(variable)='\(value)' is not a switch value: use 1, 0, true or false, or unset it to let routes.yaml decide")
        }
    }

    @Test func badSwitchesAreReportedWithFileProblems() {
        let found = problems("workers: x\nroutes: []\n", environment: ["AUTH_REQUIRED": "maybe", "OPA_REQUIRED": "1", "AUTHZ_REQUIRED": "no"])
        #expect(found.map(\.file) == ["t.yaml", "t.yaml", "environment", "environment"])
        #expect(found[2].message.hasPrefix("AUTH_REQUIRED='maybe'"))
        #expect(found[3].message.hasPrefix("AUTHZ_REQUIRED='no'"))
    }

    @Test func unrelatedVariablesAreIgnored() throws {
        #expect(try parse(Self.yaml, environment: ["PATH": "/bin", "AUTH": "x"]).switches.isEmpty)
    }

    @Test func applyIsIdempotent() throws {
        let once = try parse(Self.yaml, environment: ["AUTH_REQUIRED": "0", "AUTHZ_REQUIRED": "1"])
        #expect(Switches.apply(once.switches, to: once) == once)
    }
}
