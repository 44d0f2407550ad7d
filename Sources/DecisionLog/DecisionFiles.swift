#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RegoLite

/// Reading written decision logs (the CLI's `decisions query` and `decisions tail`): line by
/// line in fixed-size chunks, never a whole file in memory.
public enum DecisionFiles {
    /// Files in the order their records were written: for each log, `log.N` ... `log.1`, then
    /// `log` itself; other names keep their given order.
    public static func chronological(_ paths: [String]) -> [String] {
        func split(_ path: String) -> (String, Int) {
            if let dot = path.lastIndex(of: "."), let n = Int(path[path.index(after: dot)...]), n > 0 {
                return (String(path[..<dot]), n)
            }
            return (path, 0)
        }
        let indexed = paths.enumerated().map { (offset: $0.offset, base: split($0.element).0, rotation: split($0.element).1, path: $0.element) }
        var firstSeen: [String: Int] = [:]
        for entry in indexed where firstSeen[entry.base] == nil { firstSeen[entry.base] = entry.offset }
        return indexed.sorted {
            let a = firstSeen[$0.base]!, b = firstSeen[$1.base]!
            if a != b { return a < b }
            return $0.rotation > $1.rotation
        }.map(\.path)
    }

    public struct ReadError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Calls `body` with every line of the file (without the newline); `body` returns false to
    /// stop. Lines longer than `maxLine` bytes are skipped.
    public static func forEachLine(_ path: String, maxLine: Int = 16 << 20, _ body: ([UInt8]) throws -> Bool) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReadError(description: "\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var reader = LineReader(descriptor: fd, maxLine: maxLine)
        while let line = try reader.next() {
            if try !body(line) { return }
        }
    }

    /// Every record of the files (chronological order) matching `filter`; with `filter.limit`,
    /// the newest `limit` of them. Lines that are not records are counted in `skipped`.
    public static func query(_ paths: [String], filter: DecisionFilter, skipped: inout Int,
                             _ emit: (DecisionSummary, [UInt8]) -> Void) throws {
        var unlimited = filter
        unlimited.limit = nil
        var kept: [(DecisionSummary, [UInt8])] = []
        var keptStart = 0
        for path in chronological(paths) {
            try forEachLine(path) { line in
                guard let value = try? JSONReader.parse(bytes: line), let summary = DecisionSummary(record: value) else {
                    skipped += 1
                    return true
                }
                guard unlimited.matches(summary) else { return true }
                guard let limit = filter.limit else { emit(summary, line); return true }
                // The newest `limit` matches: a ring over `kept`.
                if kept.count < limit { kept.append((summary, line)) } else {
                    kept[keptStart] = (summary, line)
                    keptStart = (keptStart + 1) % limit
                }
                return true
            }
        }
        for i in 0..<kept.count { let (s, l) = kept[(keptStart + i) % kept.count]; emit(s, l) }
    }
}

/// Buffered line splitting over a file descriptor; `next()` returns nil at end of file (a
/// final line without a newline is returned too). `pending` keeps a partial line for `tail`.
public struct LineReader {
    let descriptor: Int32
    let maxLine: Int
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var start = 0
    private var end = 0
    private var partial: [UInt8] = []
    private var overlong = false
    /// `tail`: keep an unterminated last line for the next read instead of returning it.
    public var holdPartialLine = false

    public init(descriptor: Int32, maxLine: Int = 16 << 20) {
        self.descriptor = descriptor
        self.maxLine = maxLine
    }

    public mutating func next() throws -> [UInt8]? {
        while true {
            if start < end {
                if let newline = buffer[start..<end].firstIndex(of: UInt8(ascii: "\n")) {
                    let piece = buffer[start..<newline]
                    start = newline + 1
                    if overlong { overlong = false; partial.removeAll(); continue }
                    if partial.isEmpty { return Array(piece) }
                    partial.append(contentsOf: piece)
                    defer { partial.removeAll(keepingCapacity: true) }
                    return partial
                }
                if !overlong { partial.append(contentsOf: buffer[start..<end]) }
                if partial.count > maxLine { overlong = true; partial.removeAll() }
                start = end
            }
            let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw DecisionFiles.ReadError(description: "read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 {
                if holdPartialLine || partial.isEmpty || overlong { return nil }
                defer { partial.removeAll() }
                return partial
            }
            start = 0
            end = n
        }
    }
}
