/// Knobs of `sluice replicate`, with Litestream-compatible defaults.
public struct ReplicationOptions: Sendable, Equatable {
    /// The longest time between two shadow passes while the WAL is polled (no change notices);
    /// a pass runs sooner when the WAL changed.
    public var monitorInterval: Duration = .seconds(1)
    /// How often the monitor looks (one `stat`) whether the WAL changed while it is changing
    /// (`WALChangeWatch`); never less often than `monitorInterval`.
    public var changePollInterval: Duration = .milliseconds(100)
    /// How often it looks once the WAL has stayed the same for a while.
    public var idleChangePollInterval: Duration = .milliseconds(500)
    /// The shortest time between the end of one upload attempt of a replica and the start of
    /// the next. Uploads start when a pass copied new frames, not on a timer of their own.
    public var syncInterval: Duration = .seconds(1)
    /// The longest time between two passes while the WAL's change notices work (the monitor
    /// then passes on a notice, and this pass only covers a notice that never came); never less
    /// than `monitorInterval`.
    public var notifiedPassInterval: Duration = .seconds(30)
    /// The shortest time a replica's loop with nothing to upload waits before it checks its
    /// schedules (snapshots, retention) again; new frames wake it sooner.
    public var idleSyncInterval: Duration = .seconds(5)
    /// The longest it waits when no schedule falls due sooner; a lease renewal falling due
    /// wakes it in between without an attempt.
    public var longestIdleWait: Duration = .seconds(60)
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
    /// Where the local state lives (absolute); nil for `.<db-name>-sluice` beside the database.
    public var stateDirectory: String? = nil

    public init() {}
}
