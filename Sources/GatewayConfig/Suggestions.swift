/// "Did you mean" for misspelt keys and names.
enum Suggestions {
    /// The candidate closest to `word` by edit distance (case-insensitive, `-` and `_` equal),
    /// when it is close enough to be a plausible typo: at most 1 edit for short words, 2 for
    /// words of 5+ characters, 3 for 10+. Else the only candidate that `word` (4+ characters)
    /// abbreviates, as `strip` does `strip_prefix`.
    static func closest(to word: String, in candidates: [String]) -> String? {
        let key = normalized(word)
        guard !key.isEmpty, key.count <= 64 else { return nil }
        if let typo = closestByDistance(key, in: candidates) { return typo }
        let extended = candidates.filter { key.count >= 4 && normalized($0).starts(with: key) }
        return extended.count == 1 ? extended[0] : nil
    }

    private static func closestByDistance(_ key: [Character], in candidates: [String]) -> String? {
        let limit = key.count >= 10 ? 3 : key.count >= 5 ? 2 : 1
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            let d = distance(key, normalized(candidate))
            if d <= limit, d < (best?.distance ?? .max) { best = (candidate, d) }
        }
        return best?.name
    }

    private static func normalized(_ s: String) -> [Character] {
        Array(s.lowercased().map { $0 == "-" ? "_" : $0 })
    }

    /// Levenshtein distance with adjacent transpositions counted as one edit.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    value = min(value, previous2[j - 2] + 1)
                }
                current[j] = value
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
