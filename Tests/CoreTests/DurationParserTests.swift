import Testing

@testable import Core

@Suite("DurationParser")
struct DurationParserTests {
    static let formatCases: [(Duration, String)] = [
        (.seconds(5400), "1h30m"),
        (.seconds(86_400), "1d"),
        (.seconds(7 * 86_400), "7d"),
        (.seconds(36 * 3600), "1d12h"),
        (.seconds(60), "1m"),
        (.seconds(61), "1m1s"),
        (.milliseconds(1500), "1s500ms"),
        (.milliseconds(500), "500ms"),
        (.microseconds(3), "3us"),
        (.nanoseconds(1), "1ns"),
        (.zero, "0s"),
        (.seconds(-30), "-30s"),
    ]

    static let rejectedCases: [String] = [
        "", "-1s", "-5", "+1s", "s", "1x", "1 h", " 1h", "1h ", "1hh", "h1", "1.", ".", "..5s",
        "1.5", "1e3s", "ten", "1h-30m", "99999999999999999999s", "300000000000h", "1,5s", "1H", "1S",
    ]

    static let compoundCases: [(String, Duration)] = [
        ("1h30m", .seconds(5400)),
        ("1h30m0s", .seconds(5400)),
        ("2h45m30s", .seconds(2 * 3600 + 45 * 60 + 30)),
        ("1d12h", .seconds(36 * 3600)),
        ("1s500ms", .milliseconds(1500)),
        ("1.5h", .seconds(5400)),
        ("0.5s", .milliseconds(500)),
        (".25s", .milliseconds(250)),
        ("1.000000001s", .nanoseconds(1_000_000_001)),
    ]

    static let singleUnitCases: [(String, Duration)] = [
        ("1s", .seconds(1)),
        ("500ms", .milliseconds(500)),
        ("10m", .seconds(600)),
        ("24h", .seconds(86_400)),
        ("7d", .seconds(7 * 86_400)),
        ("250us", .microseconds(250)),
        ("250µs", .microseconds(250)),
        ("42ns", .nanoseconds(42)),
        ("0s", .zero),
    ]

    @Test("DurationParser: parse: Go-style single units", arguments: Self.singleUnitCases)
    func singleUnits(text: String, expected: Duration) {
        #expect(DurationParser.parse(text) == expected)
    }

    @Test("DurationParser: parse: compound and fractional values", arguments: Self.compoundCases)
    func compound(text: String, expected: Duration) {
        #expect(DurationParser.parse(text) == expected)
    }

    @Test("DurationParser: parse: plain integers are seconds")
    func plainSeconds() {
        #expect(DurationParser.parse("30") == .seconds(30))
        #expect(DurationParser.parse("0") == .zero)
        #expect(DurationParser.parse("86400") == .seconds(86_400))
    }

    @Test("DurationParser: parse: rejects negatives, empty text and garbage", arguments: Self.rejectedCases)
    func rejects(text: String) {
        #expect(DurationParser.parse(text) == nil, "\(text) should not parse")
    }

    @Test("DurationParser: format: largest parts first, zero parts left out", arguments: Self.formatCases)
    func format(duration: Duration, expected: String) {
        #expect(DurationParser.format(duration) == expected)
    }

    @Test("DurationParser: format then parse round-trips every non-negative duration")
    func roundTrip() {
        let random = SplitMix64(seed: 0x5eed)
        for _ in 0..<2000 {
            // Spread magnitudes from nanoseconds to years.
            let magnitude = random.next() % 60
            let nanoseconds = Int64(random.next() % (UInt64(1) << magnitude))
            let duration = Duration.nanoseconds(nanoseconds)
            let text = DurationParser.format(duration)
            #expect(DurationParser.parse(text) == duration, "\(text)")
        }
    }
}
