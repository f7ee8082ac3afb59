import ArgumentParser
import Core
import IO
import Logging

/// Runs a `ReplicationPlan`: one `Replicator` per database in this process until SIGINT or
/// SIGTERM (or until the `exec` command exits), with the `/metrics` endpoint when `addr` is set.
///
/// Every database runs in its own child task and every replica in its own loop inside it, so a
/// replica that fails (its store is down, say) only backs off itself: other replicas and other
/// databases go on. A database whose replication ends with an error no retry can fix (a lost
/// lease, a path that is not a database) stops the whole process, as Litestream does: every
/// other database is cancelled, so it syncs once more, the `exec` command (if any) is stopped,
/// and the command fails naming the database. Running on with part of the configuration
/// silently unreplicated would be worse.
///
/// Everything that can be refused is checked before replication starts: the command line of
/// `exec` and the endpoint's address and port.
enum ReplicationRunner {
    static func run(_ plan: ReplicationPlan) async throws {
        let logger = plan.logger
        let command = try plan.exec.map { text in
            do throws(ShellWords.ParseError) { return try ShellWords.split(text) } catch {
                throw ExecCommandError(reason: error.description)
            }
        }
        let endpoint = try plan.addr.map { try MetricsEndpoint(address: $0) }
        let gate = FirstSyncGate(databaseCount: plan.databases.count)
        let (replicators, metrics) = makeReplicators(plan, metered: endpoint != nil, gate: command == nil ? nil : gate)
        let server = try endpoint?.start(databases: metrics)
        if let server {
            logger.info("serving metrics", metadata: ["address": "\(server.address)", "path": "/metrics"])
        }
        defer { withExtendedLifetime(server) {} }

        // The engine replicates until its task is cancelled, then syncs once more and returns.
        let replication = Task { try await replicateAll(replicators) }
        if let command {
            let status = try await ExecSupervisor(command: command, logger: logger).run(
                gate: gate, replication: replication)
            if status != 0 { throw ExitCode(status) }
            return
        }
        let signals = SignalHandling.install(onFirstSignal: { number in
            logger.info("signal received; syncing replicas before exit", metadata: ["signal": "\(number)"])
            replication.cancel()
        })
        defer { withExtendedLifetime(signals) {} }
        do {
            try await replication.value
        } catch is CancellationError where replication.isCancelled {
            // The engine is meant to return after its final sync; if cancellation escaped it
            // instead, the stop was still the one the user asked for.
            logger.warning("replication stopped before its final sync completed")
        }
    }

    /// One replicator per database, each told of its events by the sinks that watch: metrics
    /// (with every replica client metered) when `metered`, and the first-sync `gate` of `exec`.
    /// A replicator nobody watches gets no sink at all.
    private static func makeReplicators(
        _ plan: ReplicationPlan, metered: Bool,
        gate: FirstSyncGate?
    ) -> ([Replicator], [ReplicationMetrics]) {
        var metrics: [ReplicationMetrics] = []
        var replicators: [Replicator] = []
        for (number, database) in plan.databases.enumerated() {
            var sinks: [any ReplicationEvents] = []
            var clients = database.replicas.map(\.client)
            if metered {
                let sink = ReplicationMetrics(
                    databasePath: database.databasePath,
                    replicas: database.replicas.map { ($0.client.location, $0.label) })
                metrics.append(sink)
                sinks.append(sink)
                clients = database.replicas.map {
                    MeteredReplicaClient.metered($0.client, database: database.databasePath, replica: $0.label)
                }
            }
            if let gate { sinks.append(gate.events(for: number)) }
            replicators.append(
                Replicator(
                    databasePath: database.databasePath, replicas: clients, options: database.options,
                    replicaOptions: database.replicaOptions, environment: plan.environment,
                    events: sinks.isEmpty ? nil : CombinedReplicationEvents(sinks)))
        }
        return (replicators, metrics)
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
            // `next()` throws the first error as it comes; leaving the group by that throw
            // cancels the rest and awaits their final syncs. (`waitForAll()` would first wait for
            // every task, and the others replicate until cancelled: a lost lease of one database
            // left the process running.)
            while try await group.next() != nil {}
        }
    }
}

/// `exec` (`--exec` or the config's `exec:`) is a command line that cannot be split into words.
struct ExecCommandError: Error, CustomStringConvertible {
    var reason: String
    var description: String { "--exec: \(reason)" }
}
