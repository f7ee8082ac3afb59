/// What a restore will do, decided before any byte is downloaded: one snapshot and the WAL
/// indexes to replay on top of it, in order.
public struct RestorePlan: Sendable, Equatable {
    public var generation: Generation
    public var snapshot: SnapshotInfo
    /// Indexes to apply, consecutive and ascending from `snapshot.index`; empty for a
    /// snapshot-only restore.
    public var indexes: [IndexPlan]
    public var target: RestoreTarget
    /// Why this generation and snapshot were chosen, for the user (one or two sentences).
    public var reason: String

    public init(
        generation: Generation, snapshot: SnapshotInfo, indexes: [IndexPlan], target: RestoreTarget, reason: String
    ) {
        self.generation = generation
        self.snapshot = snapshot
        self.indexes = indexes
        self.target = target
        self.reason = reason
    }

    /// Whether only the snapshot is restored.
    public var isSnapshotOnly: Bool { indexes.isEmpty }

    /// Every segment the plan downloads, in apply order.
    public var segments: [WALSegmentInfo] { indexes.flatMap(\.segments) }
}

/// One WAL index to download and apply.
public struct IndexPlan: Sendable, Equatable {
    public var index: UInt64
    /// The index's segments, ascending by offset, the first at offset 0.
    public var segments: [WALSegmentInfo]
    /// Apply only this many bytes of the index (a `.position` target); nil applies everything.
    /// The downloaded bytes must reach the limit exactly, and it must end a commit frame.
    public var byteLimit: UInt64?

    public init(index: UInt64, segments: [WALSegmentInfo], byteLimit: UInt64? = nil) {
        self.index = index
        self.segments = segments
        self.byteLimit = byteLimit
    }
}
