import Testing

@testable import Core

@Suite("RFC3339")
struct RFC3339Tests {
    static func ms(_ value: Int64) -> Timestamp { Timestamp(millisecondsSince1970: value) }

    static let knownCases: [(Int64, String)] = [
        (0, "1970-01-01T00:00:00Z"),
        (1_000_000_000_000, "2001-09-09T01:46:40Z"),
        (951_782_400_000, "2000-02-29T00:00:00Z"),
        (1_709_251_199_999, "2024-02-29T23:59:59.999Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (-2_203_891_200_000, "1900-03-01T00:00:00Z"),
        (253_402_300_799_000, "9999-12-31T23:59:59Z"),
        (1_700_000_000_120, "2023-11-14T22:13:20.120Z"),
    ]

    @Test("RFC3339: format: known instants, milliseconds only when non-zero", arguments: Self.knownCases)
    func format(milliseconds: Int64, text: String) {
        #expect(RFC3339.format(Self.ms(milliseconds)) == text)
        #expect(RFC3339.parse(text) == Self.ms(milliseconds))
    }

    @Test("RFC3339: format then parse round-trips random instants from 1900 to 9999")
    func roundTrip() {
        let random = SplitMix64(seed: 3339)
        let low: Int64 = -2_208_988_800_000
        let high: Int64 = 253_402_300_799_999
        for _ in 0..<5000 {
            let value = low + Int64(random.next() % UInt64(high - low))
            let text = RFC3339.format(Self.ms(value))
            #expect(RFC3339.parse(text) == Self.ms(value), "\(text)")
        }
    }

    @Test("RFC3339: parse: offsets, fractions and lowercase separators")
    func parseVariants() {
        let base = RFC3339.parse("2021-06-01T12:00:00Z")
        #expect(base != nil)
        #expect(RFC3339.parse("2021-06-01T14:30:00+02:30") == base)
        #expect(RFC3339.parse("2021-06-01T07:00:00-05:00") == base)
        #expect(RFC3339.parse("2021-06-01t12:00:00z") == base)
        #expect(RFC3339.parse("2021-06-01T12:00:00.5Z") == base.map { $0 + .milliseconds(500) })
        #expect(RFC3339.parse("2021-06-01T12:00:00.05Z") == base.map { $0 + .milliseconds(50) })
        // Go writes nanoseconds; digits past the millisecond are dropped, not rounded.
        #expect(RFC3339.parse("2021-06-01T12:00:00.123999999Z") == base.map { $0 + .milliseconds(123) })
        // An offset can cross midnight.
        #expect(RFC3339.parse("2021-06-02T00:30:00+12:30") == base)
    }

    static let rejectedCases: [String] = [
        "", "2021-06-01", "2021-06-01T12:00:00", "2021-06-01 12:00:00Z", "2021-13-01T12:00:00Z",
        "2021-00-01T12:00:00Z", "2021-06-32T12:00:00Z", "2021-06-01T24:00:00Z", "2021-06-01T12:60:00Z",
        "2021-06-01T12:00:00.Z", "2021-06-01T12:00:00Zjunk", "2021-06-01T12:00:00+0200", "2021-06-01T12:00:00+02",
        "21-06-01T12:00:00Z", "2021/06/01T12:00:00Z", "2021-06-01T12:00:00+24:00", "x021-06-01T12:00:00Z",
    ]

    @Test("RFC3339: parse: rejects malformed text", arguments: Self.rejectedCases)
    func rejects(text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test("RFC3339: Timestamp description is its RFC 3339 form")
    func description() {
        #expect(Self.ms(1_000_000_000_000).description == "2001-09-09T01:46:40Z")
    }
}
