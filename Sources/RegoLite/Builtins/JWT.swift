import Foundation

enum JWTBuiltins {
    static func register(into r: inout BuiltinRegistry) {
    }
}
