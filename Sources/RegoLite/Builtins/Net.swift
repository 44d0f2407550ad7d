import Foundation

enum NetBuiltins {
    static func register(into r: inout BuiltinRegistry) {
    }
}
