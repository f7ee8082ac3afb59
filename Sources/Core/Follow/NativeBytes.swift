/// Reads and writes of integers in the host's byte order, which is how SQLite lays out its
/// wal-index (`-shm`): the file is shared memory, never meant to leave the machine.
enum NativeBytes {
    /// Whether the host stores integers big-endian (SQLite's `SQLITE_BIGENDIAN`).
    static let hostIsBigEndian = UInt32(1).bigEndian == 1

    static func read32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    }

    static func write32(_ value: UInt32, into bytes: inout [UInt8], at offset: Int) {
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value, toByteOffset: offset, as: UInt32.self) }
    }

    static func read16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self) }
    }

    static func write16(_ value: UInt16, into bytes: inout [UInt8], at offset: Int) {
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value, toByteOffset: offset, as: UInt16.self) }
    }

    /// Big-endian, as every field of the WAL file itself is stored.
    static func bigEndian32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}
