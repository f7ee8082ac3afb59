/// The 32-byte header at the start of every WAL index.
public struct WALHeader: Sendable, Equatable {
    public var magic: UInt32
    public var formatVersion: UInt32
    public var pageSize: Int
    public var checkpointSequence: UInt32
    public var salt1: UInt32
    public var salt2: UInt32
    public var checksum: WALChecksum
    /// The 32 bytes exactly as read, for byte-wise comparison and for copying into the shadow.
    public var bytes: [UInt8]

    /// Whether frame checksums read words big-endian.
    public var bigEndianChecksums: Bool { magic == WALFormat.magicBigEndian }

    /// Parses and verifies a header. Returns nil if the bytes are not a valid WAL header: short,
    /// wrong magic or version, a page size that is not a power of two in 512...65536, or a
    /// header checksum that does not match (a half-written header is not a header).
    public init?(_ raw: ArraySlice<UInt8>) {
        guard raw.count >= WALFormat.headerSize else { return nil }
        let header = Array(raw.prefix(WALFormat.headerSize))
        let parsed: WALHeader? = header.withUnsafeBytes { p in
            let magic = readBigEndian32(p, 0)
            guard magic == WALFormat.magicLittleEndian || magic == WALFormat.magicBigEndian else { return nil }
            let version = readBigEndian32(p, 4)
            guard version == WALFormat.formatVersion else { return nil }
            var pageSize = Int(readBigEndian32(p, 8))
            if pageSize == 1 { pageSize = 65536 } // SQLite stores 65536 as 1 in the db header; be lenient here too
            guard pageSize >= 512, pageSize <= 65536, pageSize & (pageSize - 1) == 0 else { return nil }
            var sum = WALChecksum()
            sum.update(UnsafeRawBufferPointer(rebasing: p[0..<24]), bigEndian: magic == WALFormat.magicBigEndian)
            guard sum.s0 == readBigEndian32(p, 24), sum.s1 == readBigEndian32(p, 28) else { return nil }
            return WALHeader(
                magic: magic, formatVersion: version, pageSize: pageSize,
                checkpointSequence: readBigEndian32(p, 12), salt1: readBigEndian32(p, 16),
                salt2: readBigEndian32(p, 20), checksum: sum, bytes: header)
        }
        guard let parsed else { return nil }
        self = parsed
    }

    public init?(_ raw: [UInt8]) { self.init(raw[...]) }

    private init(
        magic: UInt32, formatVersion: UInt32, pageSize: Int, checkpointSequence: UInt32,
        salt1: UInt32, salt2: UInt32, checksum: WALChecksum, bytes: [UInt8]
    ) {
        self.magic = magic
        self.formatVersion = formatVersion
        self.pageSize = pageSize
        self.checkpointSequence = checkpointSequence
        self.salt1 = salt1
        self.salt2 = salt2
        self.checksum = checksum
        self.bytes = bytes
    }
}

/// The 24-byte header in front of every page in the WAL.
public struct WALFrameHeader: Sendable, Equatable {
    public var pageNumber: UInt32
    /// Database size in pages after this commit; zero for frames that do not end a transaction.
    public var commitSize: UInt32
    public var salt1: UInt32
    public var salt2: UInt32
    public var checksum: WALChecksum

    public var isCommit: Bool { commitSize != 0 }

    public init(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= WALFormat.frameHeaderSize)
        pageNumber = readBigEndian32(bytes, 0)
        commitSize = readBigEndian32(bytes, 4)
        salt1 = readBigEndian32(bytes, 8)
        salt2 = readBigEndian32(bytes, 12)
        checksum = WALChecksum(s0: readBigEndian32(bytes, 16), s1: readBigEndian32(bytes, 20))
    }
}
