import Foundation

/// `semver.is_valid`, `semver.compare` (Semantic Versioning 2.0.0; build metadata is ignored
/// in comparisons, as OPA does).
enum SemverBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        r.add("semver.is_valid", 1) { _, a in
            guard case .string(let s) = a[0] else { return .false }
            return .bool(SemanticVersion(s) != nil)
        }
        r.add("semver.compare", 2) { _, a in
            let x = try a.string(0), y = try a.string(1)
            guard let v1 = SemanticVersion(x) else { throw BuiltinError.builtin("operand 1: string \(JSONWriter.quote(x)) is not a valid SemVer") }
            guard let v2 = SemanticVersion(y) else { throw BuiltinError.builtin("operand 2: string \(JSONWriter.quote(y)) is not a valid SemVer") }
            return .int(v1.compare(v2))
        }
    }
}

/// A parsed `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`. Numeric parts stay digit strings so
/// versions beyond 64 bits compare correctly.
struct SemanticVersion {
    let core: [String]
    let prerelease: [String]

    init?(_ s: String) {
        var rest = Substring(s)
        var build: Substring?
        if let plus = rest.firstIndex(of: "+") { build = rest[rest.index(after: plus)...]; rest = rest[..<plus] }
        var pre: Substring?
        if let dash = rest.firstIndex(of: "-") { pre = rest[rest.index(after: dash)...]; rest = rest[..<dash] }
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy(SemanticVersion.isNumeric) else { return nil }
        if let b = build {
            let ids = b.split(separator: ".", omittingEmptySubsequences: false)
            guard ids.allSatisfy({ !$0.isEmpty && $0.allSatisfy(SemanticVersion.isIdentChar) }) else { return nil }
        }
        var preIDs: [String] = []
        if let p = pre {
            let ids = p.split(separator: ".", omittingEmptySubsequences: false)
            for id in ids {
                guard !id.isEmpty, id.allSatisfy(SemanticVersion.isIdentChar) else { return nil }
                if id.allSatisfy({ $0.isASCII && $0.isNumber }) && !SemanticVersion.isNumeric(id) { return nil }
                preIDs.append(String(id))
            }
        }
        core = parts.map(String.init)
        prerelease = preIDs
    }

    /// Digits without a leading zero (except `0` itself).
    static func isNumeric(_ s: Substring) -> Bool {
        !s.isEmpty && s.allSatisfy { $0.isASCII && $0.isNumber } && (s.count == 1 || s.first != "0")
    }
    static func isIdentChar(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "-") }

    static func compareNumeric(_ a: String, _ b: String) -> Int {
        if a.count != b.count { return a.count < b.count ? -1 : 1 }
        return a == b ? 0 : (a < b ? -1 : 1)
    }

    func compare(_ o: SemanticVersion) -> Int {
        for i in 0..<3 { let c = SemanticVersion.compareNumeric(core[i], o.core[i]); if c != 0 { return c } }
        if prerelease.isEmpty || o.prerelease.isEmpty {
            if prerelease.isEmpty == o.prerelease.isEmpty { return 0 }
            return prerelease.isEmpty ? 1 : -1
        }
        for i in 0..<min(prerelease.count, o.prerelease.count) {
            let a = prerelease[i], b = o.prerelease[i]
            let an = a.allSatisfy { $0.isNumber }, bn = b.allSatisfy { $0.isNumber }
            let c: Int
            switch (an, bn) {
            case (true, true): c = SemanticVersion.compareNumeric(a, b)
            case (true, false): c = -1
            case (false, true): c = 1
            case (false, false): c = a == b ? 0 : (Value.compareStrings(a, b))
            }
            if c != 0 { return c }
        }
        return prerelease.count == o.prerelease.count ? 0 : (prerelease.count < o.prerelease.count ? -1 : 1)
    }
}
