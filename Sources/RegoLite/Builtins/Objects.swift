import Foundation

enum ObjectBuiltins {
    static func register(into r: inout BuiltinRegistry) {
    }
}
