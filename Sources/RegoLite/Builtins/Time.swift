import Foundation

enum TimeBuiltins {
    static func register(into r: inout BuiltinRegistry) {
    }
}
