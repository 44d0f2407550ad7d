import Foundation

enum UUIDBuiltins {
    static func register(into r: inout BuiltinRegistry) {
    }
}
