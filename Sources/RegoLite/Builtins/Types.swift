import Foundation

enum TypeBuiltins {
    static func register(into r: inout BuiltinRegistry) {
    }
}
