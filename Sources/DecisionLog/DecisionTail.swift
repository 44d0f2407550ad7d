#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Follows a decision log like `tail -F`: `poll()` returns the complete lines written since the
/// last call. When the file is rotated (renamed away and recreated) the rest of the old file is
/// read first, then the new file from its start; a truncated file is read again from its start.
public final class DecisionTail {
    public let path: String
    private var descriptor: Int32 = -1
    private var inode: UInt64 = 0
    private var reader: LineReader?
    private var offset: Int64 = 0

    /// `fromStart`: also return what the file already holds (otherwise only what is added).
    public init(path: String, fromStart: Bool = false) {
        self.path = path
        if openFile(), !fromStart {
            offset = Int64(lseek(descriptor, 0, SEEK_END))
        }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    @discardableResult
    private func openFile() -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        var info = stat()
        fstat(fd, &info)
        descriptor = fd
        inode = UInt64(info.st_ino)
        offset = 0
        var r = LineReader(descriptor: fd)
        r.holdPartialLine = true
        reader = r
        return true
    }

    /// New complete lines (without newlines), oldest first.
    public func poll() throws -> [[UInt8]] {
        var lines: [[UInt8]] = []
        if descriptor < 0 {
            guard openFile() else { return [] }
        }
        try drain(into: &lines)
        var info = stat()
        let exists = stat(path, &info) == 0
        if exists, UInt64(info.st_ino) != inode {
            // Rotated: the old file is complete (the writer moved on); then the new one.
            try drain(into: &lines)
            close(descriptor)
            descriptor = -1
            if openFile() { try drain(into: &lines) }
        } else if exists, Int64(info.st_size) < offset {
            lseek(descriptor, 0, SEEK_SET)
            offset = 0
            var r = LineReader(descriptor: descriptor)
            r.holdPartialLine = true
            reader = r
            try drain(into: &lines)
        }
        return lines
    }

    private func drain(into lines: inout [[UInt8]]) throws {
        guard var r = reader else { return }
        while let line = try r.next() {
            lines.append(line)
        }
        reader = r
        offset = Int64(lseek(descriptor, 0, SEEK_CUR))
    }
}
