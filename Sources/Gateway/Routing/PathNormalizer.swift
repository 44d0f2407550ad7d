/// The request target as routing, the policy and the upstream all see it (DESIGN.md, "route"):
/// percent-encoded unreserved characters decoded, other escapes kept with upper-case hex,
/// `.`/`..` segments resolved, duplicate slashes merged. An encoded `/` or `\`, an encoded NUL or
/// control byte, a raw byte outside the path grammar, or a path escaping the root is refused.
public struct NormalizedTarget: Sendable, Equatable {
    /// Always starts with `/`; no empty, `.` or `..` segments; a trailing `/` is kept.
    public var path: String
    /// Decoded-unreserved segments of `path` (what `input.path_segments` holds).
    public var segments: [String]
    /// The query string as sent (without `?`), or nil.
    public var query: String?
}

public enum PathNormalizer {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notOriginForm
        case encodedSlash
        case invalidEscape
        case invalidCharacter(UInt8)
        case escapesRoot

        public var description: String {
            switch self {
            case .notOriginForm: return "the request target must be a path (origin form) or an absolute http URL"
            case .encodedSlash: return "the path contains an encoded \"/\", \"\\\" or control character"
            case .invalidEscape: return "the path contains an invalid percent escape"
            case .invalidCharacter(let byte): return "the path contains a byte not allowed in a URL path (0x\(String(byte, radix: 16)))"
            case .escapesRoot: return "the path climbs above the root with \"..\""
            }
        }
    }

    /// Normalizes a request target: origin form (`/a/b?q`) or absolute form (`http://h/a/b?q`).
    public static func normalize(_ target: String) throws(Failure) -> NormalizedTarget {
        var utf8 = Substring(target).utf8[...]
        if utf8.first != UInt8(ascii: "/") {
            // Absolute form: scheme://authority/path — only the path and query are used.
            guard let schemeEnd = firstIndex(of: "://", in: target) else { throw .notOriginForm }
            let scheme = target[..<schemeEnd].lowercased()
            guard scheme == "http" || scheme == "https" else { throw .notOriginForm }
            let rest = target[target.index(schemeEnd, offsetBy: 3)...]
            if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) {
                let tail = rest[slash...]
                utf8 = (tail.first == "?" ? Substring("/" + tail) : tail).utf8[...]
            } else {
                utf8 = Substring("/").utf8[...]
            }
        }
        // A fragment ends the target (a "?" after "#" starts no query).
        if let hash = utf8.firstIndex(of: UInt8(ascii: "#")) { utf8 = utf8[..<hash] }
        var rawPath = utf8
        var query: String? = nil
        if let q = utf8.firstIndex(of: UInt8(ascii: "?")) {
            rawPath = utf8[..<q]
            query = String(Substring(utf8[utf8.index(after: q)...]))
        }

        if let plain = plainPath(rawPath) { return NormalizedTarget(path: plain.path, segments: plain.segments, query: query) }

        var segments: [String] = []
        var current: [UInt8] = []
        current.reserveCapacity(32)
        var trailingSlash = false
        var bytes = Array(rawPath)
        bytes.append(UInt8(ascii: "/"))  // sentinel: closes the last segment
        var i = 1  // after the leading "/"
        func close() throws(Failure) {
            defer { current.removeAll(keepingCapacity: true) }
            if current.isEmpty { return }
            if current == [0x2e] { return }
            if current == [0x2e, 0x2e] {
                guard !segments.isEmpty else { throw .escapesRoot }
                segments.removeLast()
                return
            }
            segments.append(String(decoding: current, as: UTF8.self))
        }
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "/") {
                if i == bytes.count - 1 {
                    // The sentinel: the raw path ended with "/" or with a "." / ".." segment.
                    trailingSlash = current.isEmpty || current == [0x2e] || current == [0x2e, 0x2e]
                }
                try close()
                i += 1
                continue
            }
            if b == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) else { throw .invalidEscape }
                let decoded = hi << 4 | lo
                if decoded == UInt8(ascii: "/") || decoded == UInt8(ascii: "\\") || decoded < 0x20 || decoded == 0x7f { throw .encodedSlash }
                if isUnreserved(decoded) {
                    current.append(decoded)
                } else {
                    current.append(UInt8(ascii: "%"))
                    current.append(hexDigit(decoded >> 4))
                    current.append(hexDigit(decoded & 0xf))
                }
                i += 3
                continue
            }
            guard isPathByte(b) else { throw .invalidCharacter(b) }
            current.append(b)
            i += 1
        }
        // "/a/b/" keeps its slash; "/a/b/.." ends at a directory too.
        var path = "/" + segments.joined(separator: "/")
        if trailingSlash && !segments.isEmpty { path += "/" }
        return NormalizedTarget(path: path, segments: segments, query: query)
    }

    /// The common case, already normal: only path bytes, no escape, and no empty, `.` or `..`
    /// segment (no segment starts with a dot). nil sends the path through the full normalization.
    private static func plainPath(_ raw: Substring.UTF8View.SubSequence) -> (path: String, segments: [String])? {
        var segmentCount = 0
        var afterSlash = false
        var index = raw.index(after: raw.startIndex)  // after the leading "/"
        afterSlash = true
        while index < raw.endIndex {
            let b = raw[index]
            if b == UInt8(ascii: "/") {
                if afterSlash { return nil }
                afterSlash = true
            } else {
                if afterSlash {
                    if b == UInt8(ascii: ".") { return nil }
                    segmentCount += 1
                    afterSlash = false
                }
                if !isPathByte(b) { return nil }
            }
            index = raw.index(after: index)
        }
        if raw.count == 1 { return ("/", []) }
        var segments: [String] = []
        segments.reserveCapacity(segmentCount)
        // The segments between slashes (no array of pieces first: one allocation in all).
        var start = raw.index(after: raw.startIndex)
        index = start
        while index < raw.endIndex {
            if raw[index] == UInt8(ascii: "/") {
                segments.append(String(Substring(raw[start..<index])))
                start = raw.index(after: index)
            }
            index = raw.index(after: index)
        }
        if start < raw.endIndex { segments.append(String(Substring(raw[start..<raw.endIndex]))) }
        return (String(Substring(raw)), segments)
    }

    /// Where `needle` first occurs in `text` (a byte search: Foundation's `range(of:)` bridges
    /// through NSString).
    private static func firstIndex(of needle: String, in text: String) -> String.Index? {
        let haystack = text.utf8, pattern = needle.utf8
        guard let first = pattern.first else { return text.startIndex }
        var index = haystack.startIndex
        while let candidate = haystack[index...].firstIndex(of: first) {
            if haystack[candidate...].starts(with: pattern) { return candidate }
            index = haystack.index(after: candidate)
        }
        return nil
    }

    @inline(__always) static func isUnreserved(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39)
            || b == 0x2d || b == 0x2e || b == 0x5f || b == 0x7e
    }

    /// pchar (RFC 3986): unreserved, sub-delims, ":" and "@" ("%" is handled by the caller).
    @inline(__always) static func isPathByte(_ b: UInt8) -> Bool {
        if isUnreserved(b) { return true }
        switch b {
        case UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
             UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
             UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "@"):
            return true
        default:
            return false
        }
    }

    @inline(__always) static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }

    @inline(__always) static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x41 + v - 10 }
}
