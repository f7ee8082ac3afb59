/// Which page versions a restore writes into its database file, and how long the file ends up:
/// the state SQLite's checkpoints of a run of WAL indexes, one after the other, would leave.
/// Made by `PageVersionPlanner`, carried out by `PageWriter`.
public struct PageWritePlan: Sendable, Equatable {
    public var pageSize: Int
    /// The smallest database size, in pages, that any of the run's indexes ended on. Every
    /// checkpoint truncates the file to its index's size, so pages past this one were cut at
    /// least once: they hold zeros unless a frame after the cut wrote them (and those are in
    /// `writes`). Nil when no index had frames, and then the file is left as it is.
    public var smallestPageCount: UInt32?
    /// The database size in pages after the run: the last index's last commit frame says it.
    public var finalPageCount: UInt32?
    /// The page versions to write, each page at most once, ordered by source then frame, so
    /// that every source file is read front to back.
    public var writes: [PageWrite]

    public init(pageSize: Int, smallestPageCount: UInt32?, finalPageCount: UInt32?, writes: [PageWrite]) {
        self.pageSize = pageSize
        self.smallestPageCount = smallestPageCount
        self.finalPageCount = finalPageCount
        self.writes = writes
    }
}

/// One page to write: the page in frame `frame` (counted from 0) of source `source` (the
/// order in which the planner was given the indexes) goes to page `page` of the database.
/// Twelve bytes, so a plan costs little more than its page numbers.
public struct PageWrite: Sendable, Equatable {
    private var storedSource: UInt32
    private var storedFrame: UInt32
    public var page: UInt32

    public init(source: Int, frame: Int, page: UInt32) {
        storedSource = UInt32(source)
        storedFrame = UInt32(frame)
        self.page = page
    }

    public var source: Int { Int(storedSource) }
    public var frame: Int { Int(storedFrame) }
}
