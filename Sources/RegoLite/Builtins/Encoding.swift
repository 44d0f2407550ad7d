import Foundation

enum EncodingBuiltins {
    static func register(into r: inout BuiltinRegistry) {
    }
}
