// The standard library's `withUTF8`/`withUnsafeBytes` are `rethrows`, which erases typed
// throws; these wrappers keep the error type.
extension String {
    mutating func withUTF8Bytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E> = withUTF8 { buffer in
            Result { () throws(E) -> R in try body(UnsafeRawBufferPointer(buffer)) }
        }
        return try result.get()
    }
}

extension Array where Element == UInt8 {
    func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E> = withUnsafeBytes { buffer in
            Result { () throws(E) -> R in try body(buffer) }
        }
        return try result.get()
    }
}
