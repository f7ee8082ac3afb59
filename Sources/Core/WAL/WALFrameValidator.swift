/// Checks WAL frames one at a time against a header and the running checksum.
///
/// The validator is the only judge of what reaches the shadow WAL: a frame is accepted only if
/// its salts equal the header's and its checksum continues the chain. It is a plain value, so a
/// caller can try a frame, and keep the advanced state only if it decides to copy that frame.
public struct WALFrameValidator: Sendable {
    public let header: WALHeader
    /// The checksum after the last accepted frame (the header's checksum before any frame).
    public private(set) var checksum: WALChecksum

    /// Starts a validator after the header, or after a frame whose checksum is `seed`.
    public init(header: WALHeader, seed: WALChecksum? = nil) {
        self.header = header
        self.checksum = seed ?? header.checksum
    }

    public var frameSize: Int { WALFormat.frameSize(pageSize: header.pageSize) }

    /// Validates one whole frame (frame header plus page). On success returns its header and
    /// advances the running checksum; on failure returns nil and leaves the state unchanged.
    public mutating func accept(_ frame: UnsafeRawBufferPointer) -> WALFrameHeader? {
        guard frame.count == frameSize else { return nil }
        let frameHeader = WALFrameHeader(frame)
        guard frameHeader.salt1 == header.salt1, frameHeader.salt2 == header.salt2 else { return nil }
        var sum = checksum
        sum.update(UnsafeRawBufferPointer(rebasing: frame[0..<8]), bigEndian: header.bigEndianChecksums)
        sum.update(
            UnsafeRawBufferPointer(rebasing: frame[WALFormat.frameHeaderSize...]), bigEndian: header.bigEndianChecksums)
        guard sum == frameHeader.checksum else { return nil }
        checksum = sum
        return frameHeader
    }

    public mutating func accept(_ frame: ArraySlice<UInt8>) -> WALFrameHeader? {
        frame.withUnsafeBytes { accept($0) }
    }
}
