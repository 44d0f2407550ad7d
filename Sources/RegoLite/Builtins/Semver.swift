import Foundation

enum SemverBuiltins {
    static func register(into r: inout BuiltinRegistry) {
    }
}
