import Core

/// One row of `sluice generations`: a generation on one replica. The table and `--json` are
/// built from the same rows, so the two outputs never disagree.
struct GenerationRow: Encodable {
    var replica: String
    var generation: String
    /// First and last upload of the generation; nil for a generation that holds no object.
    var start: Timestamp?
    var end: Timestamp?
    /// How long ago the last upload was, in milliseconds; nil with `end`.
    var lagMilliseconds: Int64?
    var snapshotCount: Int
    var walSegmentCount: Int
    /// Stored (compressed) bytes of every snapshot and WAL segment.
    var size: Int64

    init(replica: String, listing: GenerationListing, now: Timestamp) {
        self.replica = replica
        generation = listing.generation.description
        start = listing.timeBounds?.start
        end = listing.timeBounds?.end
        lagMilliseconds = end.map { max(0, (now - $0).milliseconds) }
        snapshotCount = listing.snapshots.count
        walSegmentCount = listing.segments.count
        size = listing.snapshots.reduce(0) { $0 + $1.size } + listing.segments.reduce(0) { $0 + $1.size }
    }

    static let headers = ["name", "generation", "lag", "start", "end"]

    var cells: [String] {
        [
            replica, generation, lagMilliseconds.map { LagFormat.text(.milliseconds($0)) } ?? "-",
            start.map(RFC3339.format) ?? "-", end.map(RFC3339.format) ?? "-",
        ]
    }

    enum CodingKeys: String, CodingKey {
        case replica, generation, start, end, size
        case lagMilliseconds = "lag_ms", snapshotCount = "snapshot_count", walSegmentCount = "wal_segment_count"
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(replica, forKey: .replica)
        try container.encode(generation, forKey: .generation)
        // Optional values are written as null, never left out, so every row has every key.
        try container.encode(start.map(RFC3339.format), forKey: .start)
        try container.encode(end.map(RFC3339.format), forKey: .end)
        try container.encode(lagMilliseconds, forKey: .lagMilliseconds)
        try container.encode(snapshotCount, forKey: .snapshotCount)
        try container.encode(walSegmentCount, forKey: .walSegmentCount)
        try container.encode(size, forKey: .size)
    }
}

/// One row of `sluice snapshots` or `sluice wal`: an object of a generation, at its position
/// (generation, index and, for a WAL segment, offset).
struct ObjectRow: Encodable {
    var replica: String
    var generation: Generation
    var index: UInt64
    /// Where a WAL segment starts in its index; nil for a snapshot, whose rows have no offset.
    var offset: UInt64?
    var size: Int64
    var created: Timestamp

    init(replica: String, snapshot: SnapshotInfo) {
        self.init(
            replica: replica, generation: snapshot.generation, index: snapshot.index, offset: nil,
            size: snapshot.size, created: snapshot.createdAt)
    }

    init(replica: String, segment: WALSegmentInfo) {
        self.init(
            replica: replica, generation: segment.generation, index: segment.index, offset: segment.offset,
            size: segment.size, created: segment.createdAt)
    }

    private init(
        replica: String, generation: Generation, index: UInt64, offset: UInt64?, size: Int64,
        created: Timestamp
    ) {
        (self.replica, self.generation, self.index) = (replica, generation, index)
        (self.offset, self.size, self.created) = (offset, size, created)
    }

    static let snapshotHeaders = ["replica", "generation", "index", "size", "created"]
    static let segmentHeaders = ["replica", "generation", "index", "offset", "size", "created"]

    var cells: [String] {
        [replica, "\(generation)", "\(index)"] + (offset.map { ["\($0)"] } ?? []) + [
            "\(size)", RFC3339.format(created),
        ]
    }

    enum CodingKeys: String, CodingKey { case replica, generation, index, offset, size, created }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(replica, forKey: .replica)
        try container.encode(generation.description, forKey: .generation)
        try container.encode(index, forKey: .index)
        try container.encodeIfPresent(offset, forKey: .offset)
        try container.encode(size, forKey: .size)
        try container.encode(RFC3339.format(created), forKey: .created)
    }
}
