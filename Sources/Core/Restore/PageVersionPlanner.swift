/// Chooses which version of each page a restore writes when it applies WAL indexes, in order,
/// on top of a database: exactly what SQLite's checkpoints of those indexes, one after the
/// other, would leave in the file, with each page written once.
///
/// What a checkpoint of one index does, and so what this reproduces:
/// - It applies the frames up to the index's last commit frame and ignores any after it.
/// - For each page it copies the latest of those frames, skipping pages past the index's final
///   size (the last commit frame's database size), then truncates the file to that size
///   (extending it with zeros if it was shorter).
///
/// Over a run of indexes, page `p` therefore holds its latest frame if no later checkpoint cut
/// the file below `p`, and zeros (up to the final size) if one did and nothing wrote `p` after
/// it. The plan expresses the cuts as one truncation to the run's smallest size before the
/// writes, and one to the final size after them (`PageWritePlan`).
///
/// Memory: a sorted array of eight-byte keys (page and frame sequence number), compacted to the
/// latest version per page whenever it doubles, so it holds at most about two keys per distinct
/// page, however many frames the run has. The planner reads no bytes: it is given each index's
/// frame headers (`WALFrameTable`) and returns a plan; `PageWriter` carries it out.
public struct PageVersionPlanner: Sendable {
    /// Why an index's frames cannot be applied on top of the database.
    public enum PlanError: Error, Equatable, Sendable {
        /// The WAL's page size differs from the database's (SQLite reports corruption).
        case pageSizeMismatch(source: Int, walPageSize: Int, databasePageSize: Int)
        /// A frame names page 0, which SQLite takes as the end of the valid WAL.
        case zeroPage(source: Int, frame: Int)
    }

    /// The most frames one run may hold: each gets a 32-bit sequence number.
    public static let maxFrames = Int(UInt32.max)

    public let pageSize: Int
    /// `page << 32 | sequence`, sequence numbering the run's applied frames in order; sorted
    /// and holding one key per page up to `compactedCount`, unsorted after it.
    private var versions: [UInt64] = []
    private var compactedCount = 0
    private var sources: [Source] = []
    private var nextSequence: UInt32 = 0

    private struct Source {
        var firstSequence: UInt32
        /// The database size after the index's last commit; 0 when it had no frames.
        var pageCount: UInt32
    }

    public init(pageSize: Int) {
        self.pageSize = pageSize
    }

    /// Indexes added so far.
    public var sourceCount: Int { sources.count }
    /// Applied frames added so far.
    public var frameCount: Int { Int(nextSequence) }

    /// Adds the next index's frames, and returns how many of them are applied: those up to and
    /// including its last commit frame. After an error the planner is as it was.
    public mutating func add(_ frames: WALFrameTable) throws(PlanError) -> Int {
        let source = sources.count
        guard frames.pageSize == pageSize else {
            throw .pageSizeMismatch(source: source, walPageSize: frames.pageSize, databasePageSize: pageSize)
        }
        let applied = frames.committedCount
        precondition(frameCount + applied <= Self.maxFrames, "a run holds at most \(Self.maxFrames) frames")
        let size = applied > 0 ? frames.commitSize(applied - 1) : 0
        let before = versions.count
        for frame in 0..<applied {
            let page = frames.page(frame)
            guard page != 0 else {
                versions.removeLast(versions.count - before)
                throw .zeroPage(source: source, frame: frame)
            }
            if page <= size { versions.append(UInt64(page) << 32 | UInt64(nextSequence + UInt32(frame))) }
        }
        sources.append(Source(firstSequence: nextSequence, pageCount: size))
        nextSequence += UInt32(applied)
        if versions.count >= max(2 * compactedCount, 1 << 16) { compact() }
        return applied
    }

    /// The plan for every index added so far.
    public mutating func plan() -> PageWritePlan {
        compact()
        // The size a source's frames must fit: the smallest any index from it onwards ended on.
        var floors = [UInt32](repeating: 0, count: sources.count)
        var smallest = UInt32.max
        var final: UInt32?
        for source in sources.indices.reversed() {
            if sources[source].pageCount > 0 {
                smallest = min(smallest, sources[source].pageCount)
                final = final ?? sources[source].pageCount
            }
            floors[source] = smallest
        }
        // Ordered by sequence, the latest versions come source by source, frame by frame.
        var bySequence = versions.map { $0 << 32 | $0 >> 32 }
        bySequence.sort()
        var writes: [PageWrite] = []
        writes.reserveCapacity(bySequence.count)
        var source = 0
        for key in bySequence {
            let sequence = UInt32(truncatingIfNeeded: key >> 32)
            let page = UInt32(truncatingIfNeeded: key)
            while source + 1 < sources.count && sources[source + 1].firstSequence <= sequence { source += 1 }
            guard page <= floors[source] else { continue }
            writes.append(PageWrite(source: source, frame: Int(sequence - sources[source].firstSequence), page: page))
        }
        return PageWritePlan(
            pageSize: pageSize, smallestPageCount: final == nil ? nil : smallest,
            finalPageCount: final, writes: writes)
    }

    /// Sorts the keys and keeps the latest version of each page (the last of its run).
    private mutating func compact() {
        versions.sort()
        var kept = 0
        for position in versions.indices
        where position + 1 == versions.count || versions[position + 1] >> 32 != versions[position] >> 32 {
            versions[kept] = versions[position]
            kept += 1
        }
        versions.removeLast(versions.count - kept)
        compactedCount = kept
    }
}
