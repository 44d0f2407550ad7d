import Foundation

enum GlobBuiltins {
    static func register(into r: inout BuiltinRegistry) {
    }
}
