import Foundation

enum StringBuiltins {
    static func register(into r: inout BuiltinRegistry) {
    }
}
