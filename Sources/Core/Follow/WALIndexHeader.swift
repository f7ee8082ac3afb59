/// The header SQLite keeps at the start of a WAL database's wal-index (`-shm`): how many WAL
/// frames are valid (`maxFrame`), the database size they commit, and the salts and running
/// checksum a writer continues from. A reader starting a transaction trusts only this header,
/// so frames appended to the WAL become visible at once when it is rewritten, and not before.
///
/// Layout (SQLite's `WalIndexHdr`, 48 bytes, host byte order), stored twice at offsets 0 and 48;
/// a writer stores the second copy, then the first, and a reader accepts the header only when
/// both copies match and the checksum over the first 40 bytes holds (https://sqlite.org/walformat.html):
///
///     0 version (3007000)   4 unused   8 change counter   12 isInit   13 bigEndCksum
///     14 page size (65536 as 1)   16 maxFrame   20 page count   24 last frame's checksum (2 x u32)
///     32 salts (8 bytes, as in the WAL header)   40 checksum of bytes 0..<40 (2 x u32)
public struct WALIndexHeader: Sendable, Equatable {
    /// Incremented by each transaction, so readers see that the database changed.
    public var change: UInt32
    /// Whether the WAL's frame checksums read words big-endian (its magic number).
    public var bigEndianChecksums: Bool
    public var pageSize: Int
    /// The last valid frame (1-based); 0 when the WAL holds none.
    public var maxFrame: UInt32
    /// The database size in pages after the last committed transaction.
    public var pageCount: UInt32
    /// The running checksum after the last valid frame (after the WAL header when there is none).
    public var frameChecksum: WALChecksum
    /// The WAL header's salts, as its 8 raw bytes.
    public var salt: [UInt8]

    /// The version field SQLite writes and requires.
    public static let version: UInt32 = 3_007_000
    /// One copy's size.
    public static let size = 48
    /// Both copies, which a writer rewrites (bytes after them belong to readers and checkpoints).
    public static let bothCopiesSize = 96

    public init(
        change: UInt32, bigEndianChecksums: Bool, pageSize: Int, maxFrame: UInt32, pageCount: UInt32,
        frameChecksum: WALChecksum, salt: [UInt8]
    ) {
        precondition(salt.count == 8, "WAL salts are 8 bytes")
        self.change = change
        self.bigEndianChecksums = bigEndianChecksums
        self.pageSize = pageSize
        self.maxFrame = maxFrame
        self.pageCount = pageCount
        self.frameChecksum = frameChecksum
        self.salt = salt
    }

    /// Parses the header from the first 96 bytes of a wal-index; nil unless both copies are equal,
    /// initialised, of SQLite's version, and pass their checksum (what SQLite itself requires).
    public init?(shm: [UInt8]) {
        guard shm.count >= Self.bothCopiesSize,
            shm[0..<Self.size].elementsEqual(shm[Self.size..<Self.bothCopiesSize])
        else { return nil }
        let copy = Array(shm[0..<Self.size])
        guard NativeBytes.read32(copy, 0) == Self.version, copy[12] == 1 else { return nil }
        let stored = WALChecksum(s0: NativeBytes.read32(copy, 40), s1: NativeBytes.read32(copy, 44))
        guard Self.checksum(copy) == stored else {
            return nil
        }
        let storedSize = Int(NativeBytes.read16(copy, 14))
        self.init(
            change: NativeBytes.read32(copy, 8), bigEndianChecksums: copy[13] != 0,
            pageSize: storedSize == 1 ? 65536 : storedSize, maxFrame: NativeBytes.read32(copy, 16),
            pageCount: NativeBytes.read32(copy, 20),
            frameChecksum: WALChecksum(s0: NativeBytes.read32(copy, 24), s1: NativeBytes.read32(copy, 28)),
            salt: Array(copy[32..<40]))
    }

    /// One 48-byte copy, checksum included.
    public func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.size)
        NativeBytes.write32(Self.version, into: &bytes, at: 0)
        NativeBytes.write32(change, into: &bytes, at: 8)
        bytes[12] = 1
        bytes[13] = bigEndianChecksums ? 1 : 0
        // 65536 does not fit in 16 bits; SQLite stores it as 1, as in the database header.
        NativeBytes.write16(pageSize == 65536 ? 1 : UInt16(pageSize), into: &bytes, at: 14)
        NativeBytes.write32(maxFrame, into: &bytes, at: 16)
        NativeBytes.write32(pageCount, into: &bytes, at: 20)
        NativeBytes.write32(frameChecksum.s0, into: &bytes, at: 24)
        NativeBytes.write32(frameChecksum.s1, into: &bytes, at: 28)
        bytes.replaceSubrange(32..<40, with: salt)
        let sum = Self.checksum(bytes)
        NativeBytes.write32(sum.s0, into: &bytes, at: 40)
        NativeBytes.write32(sum.s1, into: &bytes, at: 44)
        return bytes
    }

    /// SQLite's checksum of a header copy: over its first 40 bytes, words in host order.
    static func checksum(_ copy: [UInt8]) -> WALChecksum {
        var sum = WALChecksum()
        sum.update(copy[0..<40], bigEndian: NativeBytes.hostIsBigEndian)
        return sum
    }
}
