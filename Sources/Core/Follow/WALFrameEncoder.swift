/// Writes WAL bytes as SQLite's writer would: a header with fresh salts, then frames that carry
/// those salts and continue the running checksum, so that SQLite (a reader, a checkpoint, a
/// recovery after a crash) accepts exactly the frames written, up to the last commit.
public struct WALFrameEncoder: Sendable, Equatable {
    public let pageSize: Int
    public let bigEndianChecksums: Bool
    /// The salts, as the 8 raw bytes of the WAL header.
    public let salt: [UInt8]
    /// The running checksum after the last frame encoded (or the header).
    public private(set) var checksum: WALChecksum

    /// Continues a WAL whose header and frames so far end with `checksum`.
    public init(pageSize: Int, bigEndianChecksums: Bool, salt: [UInt8], checksum: WALChecksum) {
        precondition(salt.count == 8, "WAL salts are 8 bytes")
        self.pageSize = pageSize
        self.bigEndianChecksums = bigEndianChecksums
        self.salt = salt
        self.checksum = checksum
    }

    /// A new WAL header and the encoder that continues it. Checksums use the host's byte order,
    /// as SQLite's own writer chooses.
    public static func start(
        pageSize: Int, checkpointSequence: UInt32,
        salt: [UInt8]
    ) -> (header: [UInt8], encoder: WALFrameEncoder) {
        precondition(salt.count == 8, "WAL salts are 8 bytes")
        let bigEndian = NativeBytes.hostIsBigEndian
        var header = NativeBytes.bigEndian32(bigEndian ? WALFormat.magicBigEndian : WALFormat.magicLittleEndian)
        header += NativeBytes.bigEndian32(WALFormat.formatVersion)
        header += NativeBytes.bigEndian32(UInt32(pageSize))
        header += NativeBytes.bigEndian32(checkpointSequence)
        header += salt
        var sum = WALChecksum()
        sum.update(header[0..<24], bigEndian: bigEndian)
        header += NativeBytes.bigEndian32(sum.s0) + NativeBytes.bigEndian32(sum.s1)
        return (header, WALFrameEncoder(pageSize: pageSize, bigEndianChecksums: bigEndian, salt: salt, checksum: sum))
    }

    /// Appends one frame to `output`: `page`'s new content, and for the last frame of a
    /// transaction the database size in pages after it (`commitSize`, else 0).
    public mutating func append(page: UInt32, commitSize: UInt32, data: ArraySlice<UInt8>, to output: inout [UInt8]) {
        precondition(data.count == pageSize, "a frame holds exactly one page")
        let start = output.count
        output += NativeBytes.bigEndian32(page) + NativeBytes.bigEndian32(commitSize)
        output += salt
        checksum.update(output[start..<start + 8], bigEndian: bigEndianChecksums)
        checksum.update(data, bigEndian: bigEndianChecksums)
        output += NativeBytes.bigEndian32(checksum.s0) + NativeBytes.bigEndian32(checksum.s1)
        output += data
    }
}
