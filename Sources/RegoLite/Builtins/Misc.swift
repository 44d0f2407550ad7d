import Foundation

enum MiscBuiltins {
    static func register(into r: inout BuiltinRegistry) {
    }
}
