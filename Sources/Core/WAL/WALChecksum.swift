/// SQLite's WAL checksum: a running pair over 8-byte words, each word two u32s read in the byte
/// order the header's magic chose. `s0 += a + s1; s1 += b + s0` per word.
public struct WALChecksum: Sendable, Equatable, CustomStringConvertible {
    public var s0: UInt32
    public var s1: UInt32

    public init(s0: UInt32 = 0, s1: UInt32 = 0) {
        self.s0 = s0
        self.s1 = s1
    }

    /// Continues the checksum over `bytes`, whose length must be a multiple of 8.
    public mutating func update(_ bytes: UnsafeRawBufferPointer, bigEndian: Bool) {
        precondition(bytes.count % 8 == 0, "WAL checksum input must be a multiple of 8 bytes")
        var a = s0
        var b = s1
        var i = 0
        let count = bytes.count
        if bigEndian {
            while i < count {
                a = a &+ readBigEndian32(bytes, i) &+ b
                b = b &+ readBigEndian32(bytes, i + 4) &+ a
                i += 8
            }
        } else {
            while i < count {
                a = a &+ bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian &+ b
                b = b &+ bytes.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self).littleEndian &+ a
                i += 8
            }
        }
        s0 = a
        s1 = b
    }

    public mutating func update(_ bytes: ArraySlice<UInt8>, bigEndian: Bool) {
        bytes.withUnsafeBytes { update($0, bigEndian: bigEndian) }
    }

    public var description: String { "\(Hex.format(UInt64(s0), width: 8))\(Hex.format(UInt64(s1), width: 8))" }
}
