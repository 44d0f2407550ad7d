#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// JSON lines appended to `path`, rotated by size: when the next line would take the file past
/// `maxSize`, `path.N-1` becomes `path.N` (the oldest, `path.maxFiles`, is replaced), ...,
/// `path` becomes `path.1`, and a new `path` is started. A line is never split across files.
/// Used by the writer thread only.
final class RotatingFile {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let path: String
    let maxSize: Int64
    let maxFiles: Int
    private var descriptor: Int32 = -1
    private(set) var size: Int64 = 0
    private var buffer: [UInt8] = []
    private(set) var rotations = 0

    init(path: String, maxSize: Int64, maxFiles: Int) throws {
        self.path = path
        self.maxSize = max(maxSize, 1)
        self.maxFiles = max(maxFiles, 1)
        try open()
        buffer.reserveCapacity(1 << 16)
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    private func open() throws {
        descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw Failure(description: "\(path): cannot open for writing: \(String(cString: strerror(errno)))") }
        var info = stat()
        size = fstat(descriptor, &info) == 0 ? Int64(info.st_size) : 0
    }

    /// Adds one line (the newline is added here). Rotates first when it would not fit.
    func append(_ line: [UInt8]) throws {
        // A failed reopen (after a rotation) is retried with the next record.
        if descriptor < 0 { try open() }
        let length = Int64(line.count + 1)
        if size + Int64(buffer.count) > 0, size + Int64(buffer.count) + length > maxSize {
            try flush()
            try rotate()
        }
        buffer.append(contentsOf: line)
        buffer.append(UInt8(ascii: "\n"))
    }

    /// Writes what is buffered.
    func flush() throws {
        guard !buffer.isEmpty else { return }
        if descriptor < 0 { try open() }
        defer { buffer.removeAll(keepingCapacity: true) }
        var offset = 0
        try buffer.withUnsafeBytes { bytes in
            while offset < bytes.count {
                let n = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Failure(description: "\(path): write failed: \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }
        size += Int64(buffer.count)
    }

    func sync() { if descriptor >= 0 { fsync(descriptor) } }

    private func rotate() throws {
        close(descriptor)
        descriptor = -1
        if maxFiles > 1 {
            for index in stride(from: maxFiles - 1, through: 1, by: -1) {
                rename("\(path).\(index)", "\(path).\(index + 1)")
            }
        }
        rename(path, "\(path).1")
        rotations += 1
        try open()
    }

    func closeFile() {
        try? flush()
        if descriptor >= 0 { fsync(descriptor); close(descriptor); descriptor = -1 }
    }
}
