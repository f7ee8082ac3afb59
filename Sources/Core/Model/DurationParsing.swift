/// Reads and writes durations in the Go style Litestream's configuration uses (`1s`, `500ms`,
/// `1h30m`, `24h`), plus `d` for 24 hours (`7d`) and bare integers meaning seconds (`30`).
///
/// Config files and command-line flags share this one parser, so `retention: 7d` and
/// `--retention 7d` can never disagree. Parsing is strict: a value that does not parse is
/// rejected rather than read as something else, because a retention silently read as zero
/// would delete backups.
public enum DurationParser {
    /// The units, longest spelling first within a shared prefix (`ms` before `m`), so a scan
    /// that takes the first match reads `500ms` as milliseconds and `10m` as minutes.
    private static let units: [(name: String, nanoseconds: Int64)] = [
        ("ns", 1),
        ("us", 1_000),
        ("µs", 1_000),
        ("μs", 1_000),
        ("ms", 1_000_000),
        ("s", 1_000_000_000),
        ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
        ("d", 86_400_000_000_000),
    ]

    /// Parses a non-negative duration such as `1s`, `500ms`, `1.5h`, `1h30m`, `7d` or `30`
    /// (bare integers are seconds).
    ///
    /// - Returns: nil for empty text, a sign, a number without a unit (except a bare integer),
    ///   an unknown unit, whitespace, or a value past about 292 years (64-bit nanoseconds).
    public static func parse(_ text: String) -> Duration? {
        guard !text.isEmpty else { return nil }
        if text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            guard let seconds = Int64(text), seconds <= Int64.max / 1_000_000_000 else { return nil }
            return .seconds(seconds)
        }
        var rest = Substring(text)
        var total: Int64 = 0
        while !rest.isEmpty {
            guard let (nanoseconds, remainder) = parseTerm(rest) else { return nil }
            let (sum, overflow) = total.addingReportingOverflow(nanoseconds)
            guard !overflow else { return nil }
            total = sum
            rest = remainder
        }
        return .nanoseconds(total)
    }

    /// One `<number>[.<fraction>]<unit>` term at the start of `text`, in nanoseconds, and what
    /// follows it.
    private static func parseTerm(_ text: Substring) -> (Int64, Substring)? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        var rest = text.dropFirst(digits.count)
        var fraction: Substring = ""
        if rest.first == "." {
            fraction = rest.dropFirst().prefix { $0.isASCII && $0.isNumber }
            rest = rest.dropFirst(1 + fraction.count)
        }
        // Go accepts ".5s" and "1.s" but not "."; the same here.
        guard !(digits.isEmpty && fraction.isEmpty) else { return nil }
        guard let unit = units.first(where: { rest.hasPrefix($0.name) }) else { return nil }
        rest = rest.dropFirst(unit.name.count)

        let whole = digits.isEmpty ? 0 : Int64(digits)
        guard let whole else { return nil }
        let (wholeNanoseconds, overflow) = whole.multipliedReportingOverflow(by: unit.nanoseconds)
        guard !overflow else { return nil }
        // Fraction digits beyond nanosecond precision cannot change the result; ignore them.
        var fractionNanoseconds: Int64 = 0
        var scale = unit.nanoseconds
        for digit in fraction {
            scale /= 10
            guard scale > 0 else { break }
            fractionNanoseconds += Int64(digit.wholeNumberValue!) * scale
        }
        let (sum, sumOverflow) = wholeNanoseconds.addingReportingOverflow(fractionNanoseconds)
        guard !sumOverflow else { return nil }
        return (sum, rest)
    }

    /// Formats a duration in the style `parse` reads: the non-zero parts among days, hours,
    /// minutes, seconds, milliseconds, microseconds and nanoseconds, largest first
    /// (`1d12h`, `1h30m`, `1s500ms`, `0s`). Negative durations get a leading `-` (which
    /// `parse` rejects, as configuration never needs one).
    public static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 || attoseconds < 0 {
            return "-" + format(.zero - duration)
        }
        var text = ""
        var remainingSeconds = seconds
        for (name, size) in [("d", Int64(86_400)), ("h", 3_600), ("m", 60)] {
            let count = remainingSeconds / size
            remainingSeconds -= count * size
            if count > 0 { text += "\(count)\(name)" }
        }
        if remainingSeconds > 0 { text += "\(remainingSeconds)s" }
        var remainingNanoseconds = attoseconds / 1_000_000_000
        for (name, size) in [("ms", Int64(1_000_000)), ("us", 1_000), ("ns", 1)] {
            let count = remainingNanoseconds / size
            remainingNanoseconds -= count * size
            if count > 0 { text += "\(count)\(name)" }
        }
        return text.isEmpty ? "0s" : text
    }
}
