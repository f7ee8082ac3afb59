/// One 32 KiB block of SQLite's wal-index hash tables, which map database pages to the WAL frames
/// that hold them. A reader looks a page up here, ignoring entries past its snapshot's
/// `maxFrame`, so a writer may add entries for new frames while readers run; it publishes them
/// by rewriting the header (`WALIndexHeader`) afterwards.
///
/// Block `b` covers frames `zero + 1 ... zero + capacity`: 4062 in block 0 (whose first 136 bytes
/// are the header and checkpoint information), 4096 in every later one. Each block is an array of
/// page numbers (u32 per frame) at `pageArrayOffset`, then 8192 u16 hash slots at byte 16384
/// holding 1-based frame numbers within the block; a page hashes to `page * 383 & 8191` and
/// collisions probe forward. Host byte order. (SQLite's `walIndexAppend`, `walCleanupHash`.)
public struct WALIndexBlock: Sendable, Equatable {
    public static let blockSize = 32768
    /// Bytes at the start of the wal-index before block 0's page array (header and checkpoint info).
    public static let headerRegion = 136
    static let framesPerBlock = 4096
    static let framesInFirstBlock = framesPerBlock - headerRegion / 4
    static let hashSlots = 8192
    static let hashOffset = framesPerBlock * 4

    public enum AppendError: Error, Equatable {
        /// The hash table holds more entries than frames: it is damaged.
        case corrupt(block: Int)
    }

    /// Which block holds frame `frame` (1-based).
    public static func block(ofFrame frame: UInt32) -> Int {
        (Int(frame) + framesPerBlock - framesInFirstBlock - 1) / framesPerBlock
    }

    /// The frame number just before the block's first frame.
    public static func zero(ofBlock block: Int) -> UInt32 {
        block == 0 ? 0 : UInt32(framesInFirstBlock + (block - 1) * framesPerBlock)
    }

    public let block: Int
    /// The whole block as it lies in the file at `block * blockSize` (for block 0 the header
    /// region too, which `writableRange` leaves out).
    public private(set) var bytes: [UInt8]

    public init(block: Int, bytes: [UInt8]) {
        precondition(block >= 0)
        self.block = block
        self.bytes = bytes + [UInt8](repeating: 0, count: max(0, Self.blockSize - bytes.count))
    }

    /// Where the block lies in the wal-index file.
    public var fileOffset: Int64 { Int64(block) * Int64(Self.blockSize) }

    /// The part of `bytes` a writer owns: all of it except block 0's header region.
    public var writableRange: Range<Int> { (block == 0 ? Self.headerRegion : 0)..<Self.blockSize }

    private var pageArrayOffset: Int { block == 0 ? Self.headerRegion : 0 }

    /// The page number stored for the block's `slot`-th frame (1-based).
    func pageNumber(atFrameSlot slot: Int) -> UInt32 { NativeBytes.read32(bytes, pageArrayOffset + (slot - 1) * 4) }

    func hashSlot(_ key: Int) -> UInt16 { NativeBytes.read16(bytes, Self.hashOffset + key * 2) }

    static func hash(_ page: UInt32) -> Int { Int((UInt64(page) &* 383) & UInt64(hashSlots - 1)) }

    /// Records that frame `frame` (which must fall in this block, one past the last one added)
    /// holds `page`.
    public mutating func append(frame: UInt32, page: UInt32) throws(AppendError) {
        precondition(Self.block(ofFrame: frame) == block, "frame \(frame) is not in block \(block)")
        let slot = Int(frame - Self.zero(ofBlock: block))
        if slot == 1 {
            // A block's first frame: whatever an earlier WAL lifetime left here is void.
            for offset in pageArrayOffset..<Self.blockSize { bytes[offset] = 0 }
        }
        if pageNumber(atFrameSlot: slot) != 0 { truncate(keepingFrames: slot - 1) }
        var key = Self.hash(page)
        var collisions = slot
        while hashSlot(key) != 0 {
            if collisions == 0 { throw .corrupt(block: block) }
            collisions -= 1
            key = (key + 1) & (Self.hashSlots - 1)
        }
        NativeBytes.write32(page, into: &bytes, at: pageArrayOffset + (slot - 1) * 4)
        NativeBytes.write16(UInt16(slot), into: &bytes, at: Self.hashOffset + key * 2)
    }

    /// Forgets every entry past the block's `kept`-th frame: entries a writer that never
    /// committed left behind (SQLite's `walCleanupHash`).
    public mutating func truncate(keepingFrames kept: Int) {
        for key in 0..<Self.hashSlots where Int(hashSlot(key)) > kept {
            NativeBytes.write16(0, into: &bytes, at: Self.hashOffset + key * 2)
        }
        for offset in (pageArrayOffset + kept * 4)..<Self.hashOffset { bytes[offset] = 0 }
    }

    /// The latest frame at or before `maxFrame` holding `page`, as a reader would find it; for tests.
    public func lookup(page: UInt32, maxFrame: UInt32) -> UInt32? {
        var key = Self.hash(page)
        var found: UInt32?
        while hashSlot(key) != 0 {
            let frame = Self.zero(ofBlock: block) + UInt32(hashSlot(key))
            if frame <= maxFrame && pageNumber(atFrameSlot: Int(hashSlot(key))) == page {
                found = max(found ?? 0, frame)
            }
            key = (key + 1) & (Self.hashSlots - 1)
        }
        return found
    }
}
