/// Where the previous WAL index of a generation ended, carried by the next index's first segment.
///
/// Segments are named by where they start, so a listing cannot show that an index's last
/// segment is missing: the index simply looks shorter, still ends on a commit, and a restore
/// that applies the next index over it builds a database that never existed. The replicator
/// knows where an index ended when it moves on to the next one, and writes that here, in an LZ4
/// skippable frame before the first segment's LZ4 frame, in either layout (standard LZ4 readers
/// skip such frames; Litestream v0.3's, pierrec/lz4 v4, does). A restore that applies both indexes checks that its copy of
/// the previous one is exactly that long (`WALDownloader`).
///
/// Payload, 32 bytes, little-endian: the tag `SLWS`, a version byte (1), three zero bytes, the
/// previous index, its end offset, and the XXH64 of the 24 bytes before it, so that damage to
/// the seal itself is seen rather than taken for a different end.
public struct WALIndexSeal: Sendable, Equatable {
    /// The index that ended (the segment's index minus one).
    public var previousIndex: UInt64
    /// Its length in WAL bytes, header included.
    public var previousEnd: UInt64

    public init(previousIndex: UInt64, previousEnd: UInt64) {
        self.previousIndex = previousIndex
        self.previousEnd = previousEnd
    }

    /// The skippable frame's kind (the magic number's low nibble).
    static let frameKind: UInt8 = 0x3
    private static let tag: [UInt8] = Array("SLWS".utf8)
    private static let version: UInt8 = 1
    private static let payloadSize = 32

    /// The skippable frame to put before the segment's LZ4 frame.
    public var frame: LZ4SkippableFrame {
        var payload = Self.tag + [Self.version, 0, 0, 0]
        payload += previousIndex.littleEndianBytes + previousEnd.littleEndianBytes
        payload += XXH64.hash(payload).littleEndianBytes
        return LZ4SkippableFrame(kind: Self.frameKind, payload: payload)
    }

    /// The seal among the skippable frames that led a WAL segment at `position`, or nil if there
    /// is none. Anything else there is damage: another skippable frame, a seal that fails its
    /// checksum, or one on a segment that is not the first of an index after the first.
    public static func read(_ frames: [LZ4SkippableFrame], segmentAt position: Position) throws -> WALIndexSeal? {
        guard let frame = frames.first else { return nil }
        guard frames.count == 1 else { throw SealError.unexpected("\(frames.count) skippable frames") }
        guard frame.kind == frameKind, frame.declaredSize == UInt32(payloadSize), frame.payload.count == payloadSize,
            Array(frame.payload[0..<4]) == tag
        else {
            throw SealError.unexpected("a skippable frame of kind \(frame.kind) and \(frame.declaredSize) bytes")
        }
        let payload = frame.payload
        guard UInt64(littleEndianBytes: payload, at: 24) == XXH64.hash(Array(payload[0..<24])) else {
            throw SealError.unexpected("a seal whose checksum does not match")
        }
        guard payload[4] == version else { throw SealError.unexpected("a seal of version \(payload[4])") }
        let seal = WALIndexSeal(
            previousIndex: UInt64(littleEndianBytes: payload, at: 8),
            previousEnd: UInt64(littleEndianBytes: payload, at: 16))
        guard position.offset == 0, position.index > 0, seal.previousIndex == position.index - 1 else {
            throw SealError.unexpected("a seal of index \(Hex.format(seal.previousIndex, width: 16))")
        }
        return seal
    }

    /// A WAL segment's leading frames that are not a valid seal for it.
    public enum SealError: Error, Equatable, CustomStringConvertible {
        case unexpected(String)

        public var description: String {
            switch self {
            case .unexpected(let what): return "the segment begins with \(what)"
            }
        }
    }
}
