import RegoLite

/// Writes the (masked) input or result as JSON while leaving out every credential, in the same
/// pass: one walk over the value instead of a scrub that copies and a second walk that encodes.
/// Left out, whatever the masks did before: under the input's `headers`, the members named
/// `authorization`, `proxy-authorization`, `cookie`, `set-cookie` (any case); the input's `token`
/// when it is a string, and its `raw`, `encoded`, `jwt`, `signature` members; anywhere, a member
/// or element whose string contains one of the record's credentials or a compact JWS. Each is
/// listed in `erased` with the pointer it had.
struct ScrubbingWriter {
    let out: JSONOutput
    let credentials: [String]
    /// The shared encoding of the input's `token` member (used and filled at the input's root).
    let tokenEncoding: EncodedTokenMember?
    /// `/input` or `/result`.
    let root: String
    /// The keys from the root to the container being written (for `erased` pointers).
    private var path: [String] = []
    private(set) var erased: [String] = []

    init(out: JSONOutput, credentials: [String], root: String, tokenEncoding: EncodedTokenMember? = nil) {
        self.out = out
        self.credentials = credentials
        self.root = root
        self.tokenEncoding = tokenEncoding
        path.reserveCapacity(8)
    }

    static let tokenMembers: Set<String> = ["raw", "encoded", "jwt", "signature"]

    /// Writes `value` (the root); false when the root itself is a secret string and nothing was
    /// written.
    mutating func write(_ value: Value) -> Bool {
        if case .string(let s) = value, CredentialScrubber.isSecret(s, credentials) {
            erased.append(root)
            return false
        }
        write(value, context: root == "/input" ? .inputRoot : .plain)
        return true
    }

    private enum Context { case plain, inputRoot, headers, token }

    private mutating func write(_ value: Value, context: Context) {
        switch value {
        case .object(let o):
            guard o.keys.allSatisfy({ if case .string = $0 { return true }; return false }) else {
                // Non-string keys (never in a policy input): the plain encoder, no member scrub.
                JSONBytes.value(value, into: out)
                return
            }
            out.append(UInt8(ascii: "{"))
            var first = true
            o.keys.withUnsafeBufferPointer { keys in
                o.values.withUnsafeBufferPointer { values in
                    for i in 0..<keys.count {
                        guard case .string(let name) = keys[i] else { continue }
                        if omit(name, values[i], context) {
                            erased.append(pointer(name))
                            continue
                        }
                        if !first { out.append(UInt8(ascii: ",")) }
                        first = false
                        JSONBytes.string(name, into: out)
                        out.append(UInt8(ascii: ":"))
                        if context == .inputRoot, name == "token", let shared = tokenEncoding {
                            writeShared(values[i], shared)
                            continue
                        }
                        writeChild(values[i], name: name, context: childContext(name, context))
                    }
                }
            }
            out.append(UInt8(ascii: "}"))
        case .array(let a):
            writeList(a)
        case .set(let s):
            writeList(s.elements)
        case .string(let s):
            JSONBytes.string(s, into: out)
        default:
            JSONBytes.value(value, into: out)
        }
    }

    /// The input's token member: copied from its shared encoding, or written and kept there.
    private mutating func writeShared(_ value: Value, _ shared: EncodedTokenMember) {
        if let known = shared.cached {
            known.bytes.withUnsafeBufferPointer { out.append($0) }
            erased += known.erased
            return
        }
        let mark = out.count
        let erasedBefore = erased.count
        writeChild(value, name: "token", context: .token)
        shared.store(EncodedTokenMember.Encoding(bytes: out.bytes(since: mark), erased: Array(erased[erasedBefore...])))
    }

    private mutating func writeList(_ items: [Value]) {
        out.append(UInt8(ascii: "["))
        var first = true
        items.withUnsafeBufferPointer { items in
            for i in 0..<items.count {
                if case .string(let s) = items[i], CredentialScrubber.isSecret(s, credentials) {
                    erased.append(pointer(String(i)))
                    continue
                }
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                writeChild(items[i], name: String(i), context: .plain)
            }
        }
        out.append(UInt8(ascii: "]"))
    }

    @inline(__always) private mutating func writeChild(_ value: Value, name: @autoclosure () -> String, context: Context) {
        switch value {
        case .object, .array, .set:
            path.append(name())
            write(value, context: context)
            path.removeLast()
        case .string(let s):
            JSONBytes.string(s, into: out)
        default:
            JSONBytes.value(value, into: out)
        }
    }

    private func childContext(_ name: String, _ context: Context) -> Context {
        guard context == .inputRoot else { return .plain }
        if name == "headers" { return .headers }
        if name == "token" { return .token }
        return .plain
    }

    private func omit(_ name: String, _ value: Value, _ context: Context) -> Bool {
        switch context {
        case .headers: if CredentialScrubber.isHiddenHeader(name) { return true }
        case .token: if Self.tokenMembers.contains(name) { return true }
        case .inputRoot: if name == "token", case .string = value { return true }
        case .plain: break
        }
        if case .string(let s) = value { return CredentialScrubber.isSecret(s, credentials) }
        return false
    }

    private func pointer(_ last: String) -> String {
        var text = root
        for token in path { text += "/" + CredentialScrubber.escape(token) }
        return text + "/" + CredentialScrubber.escape(last)
    }
}
