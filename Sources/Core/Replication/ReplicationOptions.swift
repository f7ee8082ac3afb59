/// Knobs of `sluice replicate`, with Litestream-compatible defaults.
public struct ReplicationOptions: Sendable, Equatable {
    /// How often the WAL is checked for new frames.
    public var monitorInterval: Duration = .seconds(1)
    /// How often each replica uploads what the shadow WAL gained.
    public var syncInterval: Duration = .seconds(1)
    /// Time between scheduled snapshots; nil takes snapshots only when a generation starts (and
    /// when retention needs one inside its window).
    public var snapshotInterval: Duration? = nil
    /// How much history to keep on replicas; nil keeps everything.
    public var retention: Duration? = .seconds(24 * 3600)
    /// How often retention runs (never less often than the retention itself).
    public var retentionCheckInterval: Duration = .seconds(3600)
    /// When the replicator checkpoints the database.
    public var checkpoint: CheckpointPolicy = CheckpointPolicy()
    /// How long the replicator may hold the write lock while an emergency checkpoint waits for
    /// readers; bounds how long application writers can be blocked.
    public var writeLockBudget: Duration = .seconds(2)
    /// SQLite busy timeout of the replicator's own connections.
    public var busyTimeout: Duration = .seconds(1)
    /// The replica layout new objects are written in.
    public var layout: ReplicaLayout = .grouped
    /// Bytes of WAL frames copied or uploaded per chunk; bounds the replicator's memory.
    public var chunkSize: Int = 256 << 10
    /// A WAL backlog longer than this goes up as several segments, each ending after a commit,
    /// so an upload that fails part-way loses at most one segment's work.
    public var maxSegmentSize: Int = 16 << 20
    /// How long a replica lease lasts without renewal; renewed every third of it. A crashed
    /// replicator blocks its successor for at most this long.
    public var leaseDuration: Duration = .seconds(30)
    /// Names this replicator in leases (`host:pid`), so a refused second replicator can say who
    /// holds the location.
    public var leaseOwner: String = "sluice"

    public init() {}
}
