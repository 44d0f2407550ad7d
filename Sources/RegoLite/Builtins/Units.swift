import Foundation

enum UnitsBuiltins {
    static func register(into r: inout BuiltinRegistry) {
    }
}
