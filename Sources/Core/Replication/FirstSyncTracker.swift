/// Counts the replicas of one database that have synced once, and tells `ReplicationEvents`
/// when the last of them has (`firstSyncCompleted`), once.
actor FirstSyncTracker {
    private var pending: Set<Int>
    private let events: any ReplicationEvents

    init(replicaCount: Int, events: any ReplicationEvents) {
        pending = Set(0..<replicaCount)
        self.events = events
    }

    /// Replica `number` has synced; the last one to do so completes the first sync.
    func synced(_ number: Int) {
        guard pending.remove(number) != nil, pending.isEmpty else { return }
        events.firstSyncCompleted()
    }
}

/// What one replica's loop tells `ReplicationEvents`: a report after every attempt, and its
/// first sync to `FirstSyncTracker`.
struct ReplicaWatch: Sendable {
    var number: Int
    var events: any ReplicationEvents
    var firstSync: FirstSyncTracker

    /// A `sync()` succeeded. It counts as the replica's first sync only once the replica's
    /// position is known: before the database's first generation exists, `sync()` has nothing to
    /// upload and returns at once.
    func synced(_ syncer: ReplicaSyncer) async {
        guard await syncer.position != nil else { return }
        await firstSync.synced(number)
    }

    /// An attempt (sync, snapshot, retention) ended.
    func attemptEnded(_ syncer: ReplicaSyncer, failed: Bool, leaseLost: Bool = false) async {
        events.replicaSynced(await syncer.report(failed: failed, leaseLost: leaseLost))
    }
}
