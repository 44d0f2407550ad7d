import Foundation

enum ArrayBuiltins {
    static func register(into r: inout BuiltinRegistry) {
    }
}
