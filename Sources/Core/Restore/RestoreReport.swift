/// What a finished restore did.
public struct RestoreReport: Sendable, Equatable {
    public var outputPath: String
    public var generation: Generation
    public var snapshotIndex: UInt64
    /// WAL indexes applied, in order; empty for a snapshot-only restore.
    public var appliedIndexes: [UInt64]
    /// Where the restored database stands: the end of the last applied WAL bytes, or offset 0 of
    /// the snapshot's index when no WAL was applied.
    public var finalPosition: Position
    /// Compressed bytes read from the replica (snapshot and WAL).
    public var downloadedByteCount: Int64
    /// Pages written from the WAL into the database (each page once per batch of indexes).
    public var writtenPageCount: Int

    public init(
        outputPath: String, generation: Generation, snapshotIndex: UInt64, appliedIndexes: [UInt64],
        finalPosition: Position, downloadedByteCount: Int64, writtenPageCount: Int = 0
    ) {
        self.outputPath = outputPath
        self.generation = generation
        self.snapshotIndex = snapshotIndex
        self.appliedIndexes = appliedIndexes
        self.finalPosition = finalPosition
        self.downloadedByteCount = downloadedByteCount
        self.writtenPageCount = writtenPageCount
    }
}
