import Core
import Logging

/// Runs a `ReplicationPlan` until SIGINT or SIGTERM, then lets every replicator do its final
/// sync and returns.
///
/// Every database runs in its own child task and every replica in its own loop inside it, so a
/// replica that fails (its store is down, say) only backs off itself: other replicas and other
/// databases go on. A database whose replication ends with an error no retry can fix (a lost
/// lease, a path that is not a database) stops the whole process, as Litestream does: every
/// other database is cancelled, so it syncs once more, and the command fails naming the database.
/// Running on with part of the configuration silently unreplicated would be worse.
enum ReplicationRunner {
    static func run(_ plan: ReplicationPlan) async throws {
        let replicators = plan.replicators
        let replication = Task { try await replicateAll(replicators) }
        let logger = plan.logger
        let signals = SignalHandling.install { number in
            logger.info("signal received; syncing replicas before exit", metadata: ["signal": "\(number)"])
            replication.cancel()
        }
        defer { withExtendedLifetime(signals) {} }

        // Extension point for `addr` and `exec`: a metrics server for `plan.addr` starts here,
        // and a child for `plan.exec` once every database's first sync is done; a child that
        // exits cancels `replication` (final sync) and its status becomes the command's.

        do {
            try await replication.value
        } catch is CancellationError where replication.isCancelled {
            // The engine is meant to return after its final sync; if cancellation escaped it
            // instead, the stop was still the one the user asked for.
            logger.warning("replication stopped before its final sync completed")
        }
    }

    /// Every replicator in a task of its own. The first to fail cancels the others (each then
    /// syncs once more) and its error, naming its database, is thrown once they have stopped.
    static func replicateAll(_ replicators: [Replicator]) async throws {
        // One database from the command line: its error as it is, as before there was a config.
        if replicators.count == 1 {
            try await replicators[0].run()
            return
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for replicator in replicators {
                group.addTask {
                    do {
                        try await replicator.run()
                    } catch is CancellationError {
                        throw CancellationError()
                    } catch {
                        throw DatabaseReplicationError(databasePath: replicator.databasePath, underlying: error)
                    }
                }
            }
            // The group cancels and awaits the rest when this throws.
            try await group.waitForAll()
        }
    }
}
