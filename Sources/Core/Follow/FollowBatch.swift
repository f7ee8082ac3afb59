/// The pages one follower step writes: the latest version of every page the downloaded
/// transactions touched, committed as one transaction of the read replica, so readers go from
/// one state of the primary straight to a later one.
public struct FollowBatch: Sendable, Equatable {
    /// Where each page's latest version lies in the step's spool.
    private var latest: [UInt32: Int64] = [:]
    /// The database size in pages after the last commit added; nil before any.
    public private(set) var commitSize: UInt32?
    /// Frames added, whether or not a later one superseded them.
    public private(set) var frameCount = 0

    public init() {}

    /// Adds one frame, in WAL order: `page`'s content at `dataOffset`, and the commit size if
    /// the frame ends a transaction (0 otherwise).
    public mutating func add(page: UInt32, commitSize: UInt32, dataOffset: Int64) {
        latest[page] = dataOffset
        frameCount += 1
        if commitSize != 0 { self.commitSize = commitSize }
    }

    /// The pages to write, ascending, without those past the final database size (a later
    /// transaction cut the file; SQLite would not copy them back either). Empty before a commit.
    public var writes: [(page: UInt32, dataOffset: Int64)] {
        guard let commitSize else { return [] }
        return latest.filter { $0.key <= commitSize }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    public static func == (lhs: FollowBatch, rhs: FollowBatch) -> Bool {
        lhs.latest == rhs.latest && lhs.commitSize == rhs.commitSize && lhs.frameCount == rhs.frameCount
    }
}
