import Foundation

enum AggregateBuiltins {
    static func register(into r: inout BuiltinRegistry) {
    }
}
