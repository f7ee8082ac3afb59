/// The valid key closest to a misspelt one, by edit distance (insertions, deletions,
/// substitutions and swaps of neighbours each cost one), so `retension` suggests `retention`
/// and `sync-intreval` suggests `sync-interval`.
public enum KeySuggestion {
    /// The nearest of `candidates` to `key`, if it is close enough to be a likely typo: at most
    /// two edits, and fewer than a third of the key's length for short keys. Ties go to the
    /// candidate listed first.
    public static func nearest(to key: String, in candidates: [String]) -> String? {
        let limit = min(2, max(1, key.count / 3))
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(key.lowercased(), candidate)
            if distance <= limit, distance < (best?.distance ?? Int.max) {
                best = (candidate, distance)
            }
        }
        return best?.candidate
    }

    /// Optimal string alignment distance (Damerau-Levenshtein without repeated edits of one
    /// substring), over Unicode scalars.
    static func editDistance(_ first: String, _ second: String) -> Int {
        let a = Array(first.unicodeScalars)
        let b = Array(second.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
