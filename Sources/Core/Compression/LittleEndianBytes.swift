/// Integers stored least significant byte first: the byte order of the LZ4 frame format (its
/// magic numbers, sizes and checksums) and of the metadata Sluice puts in its skippable frames.
extension FixedWidthInteger {
    /// The value's bytes, least significant first.
    var littleEndianBytes: [UInt8] {
        (0..<(Self.bitWidth / 8)).map { UInt8(truncatingIfNeeded: self >> ($0 * 8)) }
    }

    /// The value stored least significant byte first at `offset` of `bytes`.
    init(littleEndianBytes bytes: [UInt8], at offset: Int = 0) {
        precondition(offset >= 0 && offset + Self.bitWidth / 8 <= bytes.count, "a little-endian read past the end")
        self = (0..<(Self.bitWidth / 8)).reduce(0) { $0 | Self(bytes[offset + $1]) << ($1 * 8) }
    }
}
