/// The name of one unbroken chain of WAL history: 16 lowercase hex digits.
///
/// Sluice's own generations put the creation time in milliseconds in the high 44 bits and
/// randomness in the low 20, so sorting names sorts generations by age, and "latest" never
/// depends on object timestamps that copying a replica changes (Litestream #631). Litestream's
/// generations are fully random; they parse but do not sort by age.
public struct Generation: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let value: UInt64

    public init(value: UInt64) { self.value = value }

    /// Parses exactly 16 lowercase hex digits.
    public init?(_ text: String) {
        guard text.utf8.count == 16,
            text.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }),
            let value = UInt64(text, radix: 16)
        else { return nil }
        self.value = value
    }

    /// A new generation for `time`, with 20 random low bits.
    public static func make(at time: Timestamp, random: any RandomSource) -> Generation {
        let ms = UInt64(max(0, time.millisecondsSince1970)) & ((1 << 44) - 1)
        return Generation(value: (ms << 20) | (random.next() & 0xF_FFFF))
    }

    /// The creation time encoded in a Sluice generation name.
    public var creationTime: Timestamp {
        Timestamp(millisecondsSince1970: Int64(value >> 20))
    }

    public static func < (lhs: Generation, rhs: Generation) -> Bool { lhs.value < rhs.value }

    public var description: String { Hex.format(value, width: 16) }
}

/// Fixed-width lowercase hex, the spelling of every index and offset in replica paths.
public enum Hex {
    public static func format(_ value: UInt64, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Parses lowercase hex of exactly `width` digits (or any of `widths`).
    public static func parse(_ text: Substring, widths: ClosedRange<Int>) -> UInt64? {
        parse(utf8: text.utf8, widths: widths)
    }

    /// The same over UTF-8 bytes, so key parsers can cut names by byte offsets. One pass: every
    /// restore and every resumed sync parse a whole generation's WAL keys.
    public static func parse(utf8 bytes: Substring.UTF8View, widths: ClosedRange<Int>) -> UInt64? {
        precondition(widths.upperBound <= 16, "more than 16 hex digits do not fit a UInt64")
        guard widths.contains(bytes.count) else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = value << 4 | UInt64(byte &- UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = value << 4 | UInt64(byte &- UInt8(ascii: "a") &+ 10)
            default: return nil
            }
        }
        return value
    }
}
