/// What one database's replication reports as it goes: for metrics, and for a supervisor that
/// starts an application once the first sync is done (`sluice replicate --exec`).
///
/// Every method is called from the engine's own tasks, in the order the events happen, and must
/// return at once: record the report and leave (no awaiting, no I/O, no blocking lock held for
/// long). Reporting does no I/O and draws no randomness, so a replicator with a sink behaves as
/// one without; the simulator passes none. Every method has an empty default.
public protocol ReplicationEvents: Sendable {
    /// A monitor pass over the database ended (new frames copied or not, failed or not).
    func databaseSynced(_ report: DatabaseSyncReport)
    /// A checkpoint run by the replicator ended.
    func checkpointed(_ report: CheckpointReport)
    /// An attempt to sync one replica ended, or its lease was found lost.
    func replicaSynced(_ report: ReplicaSyncReport)
    /// Every replica has uploaded the database once since the replicator started: each holds a
    /// generation with a snapshot and the WAL up to the shadow's end when its first upload ran.
    /// Called once per run, never if replication fails first.
    func firstSyncCompleted()
}

extension ReplicationEvents {
    public func databaseSynced(_ report: DatabaseSyncReport) {}
    public func checkpointed(_ report: CheckpointReport) {}
    public func replicaSynced(_ report: ReplicaSyncReport) {}
    public func firstSyncCompleted() {}
}

/// One monitor pass over the database.
public struct DatabaseSyncReport: Sendable, Equatable {
    /// Everything up to here is in the shadow WAL; nil before the first generation starts.
    public var position: Position?
    /// The real WAL file's size when the pass last looked at it.
    public var walSize: Int64
    /// Bytes copied from the WAL into the shadow since the replicator started (a running total).
    public var copiedBytes: Int64
    /// How long the pass took, checkpoint included, on the engine's clock.
    public var duration: Duration
    /// Whether the pass failed (it is tried again at the next look).
    public var failed: Bool
}

/// One checkpoint run by the replicator.
public struct CheckpointReport: Sendable, Equatable {
    /// SQLite's name of the mode: "PASSIVE", or "TRUNCATE" for the emergency brake (which
    /// starts with PASSIVE passes and ends with TRUNCATE).
    public var mode: String
    public var duration: Duration
    public var failed: Bool
}

/// Where one replica stands after an attempt to sync it.
public struct ReplicaSyncReport: Sendable, Equatable {
    /// The replica's location (`ReplicaClient.location`).
    public var replica: String
    /// Everything before this position is on the replica; nil while unknown.
    public var position: Position?
    /// When the replica's newest snapshot of the current generation was written, once known.
    public var lastSnapshotAt: Timestamp?
    /// Whether this replicator holds the replica's lease; nil for a client that does not lease.
    public var leaseHeld: Bool?
    /// Whether the attempt failed.
    public var failed: Bool
}

/// Several sinks told of the same events, in order (metrics and the `--exec` gate, say).
public struct CombinedReplicationEvents: ReplicationEvents {
    public var sinks: [any ReplicationEvents]

    public init(_ sinks: [any ReplicationEvents]) {
        self.sinks = sinks
    }

    public func databaseSynced(_ report: DatabaseSyncReport) { for sink in sinks { sink.databaseSynced(report) } }
    public func checkpointed(_ report: CheckpointReport) { for sink in sinks { sink.checkpointed(report) } }
    public func replicaSynced(_ report: ReplicaSyncReport) { for sink in sinks { sink.replicaSynced(report) } }
    public func firstSyncCompleted() { for sink in sinks { sink.firstSyncCompleted() } }
}
