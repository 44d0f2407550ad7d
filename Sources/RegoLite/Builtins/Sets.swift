import Foundation

enum SetBuiltins {
    static func register(into r: inout BuiltinRegistry) {
    }
}
