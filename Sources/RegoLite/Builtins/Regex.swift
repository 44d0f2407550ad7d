import Foundation

enum RegexBuiltins {
    static func register(into r: inout BuiltinRegistry) {
    }
}
