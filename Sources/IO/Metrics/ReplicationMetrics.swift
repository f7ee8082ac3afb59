import Core
import CoreMetrics
import Glibc
import Synchronization

/// One database's replication metrics, fed by the engine's `ReplicationEvents` and emitted
/// through swift-metrics (the CLI bootstraps the Prometheus backend; docs/metrics.md lists every
/// metric). Names follow Litestream's, `litestream_` replaced by `sluice_`.
///
/// Gauges that age with time (lag, time since the last snapshot) and the database file's size
/// are set by `refresh()`, which the endpoint calls before each scrape, so they are current
/// even while the engine is stalled and reports nothing.
public final class ReplicationMetrics: ReplicationEvents, Sendable {
    private struct Replica: Sendable {
        var label: String
        var walIndex: Gauge
        var walOffset: Gauge
        var lag: Gauge
        var snapshotAge: Gauge
        var leaseHeld: Gauge
        var syncErrors: Counter
    }

    private struct State: Sendable {
        var lag: ReplicationLag
        var copiedBytes: Int64 = 0
        var lastSnapshots: [String: Timestamp] = [:]
    }

    private let databasePath: String
    private let wallClock: any WallClock
    private let replicas: [String: Replica]
    private let state: Mutex<State>

    private let databaseSize: Gauge
    private let walSize: Gauge
    private let totalWALBytes: Counter
    private let shadowIndex: Gauge
    private let shadowSize: Gauge
    private let syncCount: Counter
    private let syncErrors: Counter
    private let syncSeconds: FloatingPointCounter

    /// - Parameters:
    ///   - databasePath: The database, its `db` label.
    ///   - replicas: Each replica's location (as its client reports it) and its `replica` label
    ///     (the configured name, or the location).
    public init(
        databasePath: String, replicas: [(location: String, label: String)],
        wallClock: any WallClock = SystemWallClock()
    ) {
        self.databasePath = databasePath
        self.wallClock = wallClock
        let db = [("db", databasePath)]
        databaseSize = Gauge(label: "sluice_db_size", dimensions: db)
        walSize = Gauge(label: "sluice_wal_size", dimensions: db)
        totalWALBytes = Counter(label: "sluice_total_wal_bytes", dimensions: db)
        shadowIndex = Gauge(label: "sluice_shadow_wal_index", dimensions: db)
        shadowSize = Gauge(label: "sluice_shadow_wal_size", dimensions: db)
        syncCount = Counter(label: "sluice_sync_count", dimensions: db)
        syncErrors = Counter(label: "sluice_sync_error_count", dimensions: db)
        syncSeconds = FloatingPointCounter(label: "sluice_sync_seconds", dimensions: db)
        var byLocation: [String: Replica] = [:]
        for (location, label) in replicas {
            let dimensions = db + [("replica", label)]
            byLocation[location] = Replica(
                label: label,
                walIndex: Gauge(label: "sluice_replica_wal_index", dimensions: dimensions),
                walOffset: Gauge(label: "sluice_replica_wal_offset", dimensions: dimensions),
                lag: Gauge(label: "sluice_replica_lag_seconds", dimensions: dimensions),
                snapshotAge: Gauge(label: "sluice_replica_snapshot_age_seconds", dimensions: dimensions),
                leaseHeld: Gauge(label: "sluice_replica_lease_held", dimensions: dimensions),
                syncErrors: Counter(label: "sluice_replica_sync_error_count", dimensions: dimensions))
        }
        self.replicas = byLocation
        state = Mutex(State(lag: ReplicationLag(replicas: replicas.map(\.location))))
    }

    // MARK: - ReplicationEvents

    public func databaseSynced(_ report: DatabaseSyncReport) {
        syncCount.increment()
        if report.failed { syncErrors.increment() }
        syncSeconds.increment(by: report.duration.seconds)
        walSize.record(report.walSize)
        if let position = report.position {
            shadowIndex.record(Int64(position.index))
            shadowSize.record(Int64(position.offset))
        }
        let now = wallClock.now()
        let added = state.withLock { state -> Int64 in
            if let position = report.position { state.lag.databaseReached(position, at: now) }
            defer { state.copiedBytes = report.copiedBytes }
            return max(0, report.copiedBytes - state.copiedBytes)
        }
        if added > 0 { totalWALBytes.increment(by: added) }
    }

    public func checkpointed(_ report: CheckpointReport) {
        let dimensions = [("db", databasePath), ("mode", report.mode)]
        Counter(label: "sluice_checkpoint_count", dimensions: dimensions).increment()
        if report.failed { Counter(label: "sluice_checkpoint_error_count", dimensions: dimensions).increment() }
        FloatingPointCounter(label: "sluice_checkpoint_seconds", dimensions: dimensions).increment(
            by: report.duration.seconds)
    }

    public func replicaSynced(_ report: ReplicaSyncReport) {
        guard let replica = replicas[report.replica] else { return }
        if report.failed { replica.syncErrors.increment() }
        if let position = report.position {
            replica.walIndex.record(Int64(position.index))
            replica.walOffset.record(Int64(position.offset))
        }
        if let held = report.leaseHeld { replica.leaseHeld.record(held ? 1 : 0) }
        let now = wallClock.now()
        let lag = state.withLock { state -> Double in
            state.lag.replicaReached(report.replica, report.position)
            if let snapshot = report.lastSnapshotAt { state.lastSnapshots[report.replica] = snapshot }
            return state.lag.lag(of: report.replica, at: now)
        }
        replica.lag.record(lag)
    }

    // MARK: - Scrape

    /// Sets the gauges that move without events: each replica's lag and snapshot age, and the
    /// database file's size.
    public func refresh() {
        var status = stat()
        if stat(databasePath, &status) == 0 { databaseSize.record(Int64(status.st_size)) }
        let now = wallClock.now()
        let values = state.withLock { state in
            replicas.keys.map { location in
                (
                    location, state.lag.lag(of: location, at: now),
                    state.lastSnapshots[location].map {
                        Double(now.millisecondsSince1970 - $0.millisecondsSince1970) / 1000
                    }
                )
            }
        }
        for (location, lag, snapshotAge) in values {
            guard let replica = replicas[location] else { continue }
            replica.lag.record(lag)
            if let snapshotAge { replica.snapshotAge.record(max(0, snapshotAge)) }
        }
    }
}

extension Duration {
    /// The duration in seconds, fractions included.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
