/// The page number and commit size of every frame of one WAL, in order: what a restore needs to
/// choose page versions without reading the pages again. Eight bytes a frame, in one array.
public struct WALFrameTable: Sendable, Equatable {
    /// The WAL's page size (from its header).
    public let pageSize: Int
    // Each entry is `page << 32 | commitSize`, so no frame costs an allocation of its own.
    private var entries: [UInt64] = []

    public init(pageSize: Int) {
        precondition(pageSize >= 512 && pageSize <= 65536 && pageSize & (pageSize - 1) == 0, "page size \(pageSize)")
        self.pageSize = pageSize
    }

    /// Appends the next frame's header fields.
    public mutating func append(page: UInt32, commitSize: UInt32) {
        entries.append(UInt64(page) << 32 | UInt64(commitSize))
    }

    public var count: Int { entries.count }

    /// The page number in frame `frame`'s header (frames count from 0).
    public func page(_ frame: Int) -> UInt32 { UInt32(truncatingIfNeeded: entries[frame] >> 32) }

    /// The database size in pages after the commit frame `frame` ends, or 0 if it ends none.
    public func commitSize(_ frame: Int) -> UInt32 { UInt32(truncatingIfNeeded: entries[frame]) }

    /// How many frames up to and including the last commit frame: the frames SQLite applies.
    public var committedCount: Int {
        var frame = entries.count
        while frame > 0 && commitSize(frame - 1) == 0 { frame -= 1 }
        return frame
    }

    /// Where frame `frame`'s page begins in the WAL bytes.
    public func pageOffset(_ frame: Int) -> Int64 {
        Int64(WALFormat.headerSize) + Int64(frame) * Int64(WALFormat.frameSize(pageSize: pageSize))
            + Int64(WALFormat.frameHeaderSize)
    }
}
