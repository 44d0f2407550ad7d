import Foundation

/// Runs `test_*` rules like `opa test`: a test passes when its value is defined and not false.
public struct PolicyTestRunner: Sendable {
    public enum Outcome: String, Sendable { case pass = "PASS", fail = "FAIL", error = "ERROR" }
    public struct Result: Sendable {
        public let name: String
        public let outcome: Outcome
        public let message: String?
        public let durationNs: UInt64
    }
    public init() {}

    public func run(_ policy: CompiledPolicy, options: EvalOptions = EvalOptions()) -> [Result] {
        policy.testRules.map { path in
            let name = "data." + path.joined(separator: ".")
            let t0 = DispatchTime.now().uptimeNanoseconds
            do {
                let v = try PreparedQuery(policy: policy, query: name).evalValue(input: nil, options: options)
                let ok = v != nil && v != .false
                return Result(name: name, outcome: ok ? .pass : .fail, message: nil, durationNs: DispatchTime.now().uptimeNanoseconds - t0)
            } catch {
                return Result(name: name, outcome: .error, message: "\(error)", durationNs: DispatchTime.now().uptimeNanoseconds - t0)
            }
        }
    }
}
