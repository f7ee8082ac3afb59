import ArgumentParser
import Core
import IO
import Logging

/// One database to replicate, as the command line or a config file describes it.
struct DatabaseReplication {
    var databasePath: String
    /// Each replica's client and its `replica` metric label (its configured name, or its location).
    var replicas: [(client: any ReplicaClient, label: String)]
    var options: ReplicationOptions
}

/// Runs one `Replicator` per database in this process until SIGINT or SIGTERM (or until the
/// `--exec` command exits), with the `/metrics` endpoint when an address is given.
///
/// Everything that can be refused is checked before replication starts: the command line of
/// `--exec` and the endpoint's address and port.
struct ReplicationRunner {
    var databases: [DatabaseReplication]
    var environment: Environment
    /// `--exec`: the command line to run once the first sync of every database is done.
    var exec: String?
    /// `--addr`: where to serve `/metrics`, like ":9090".
    var metricsAddress: String?

    func run() async throws {
        let logger = environment.logger
        let command = try exec.map { text in
            do throws(ShellWords.ParseError) { return try ShellWords.split(text) } catch { throw ExecCommandError(reason: error.description) }
        }
        let endpoint = try metricsAddress.map { try MetricsEndpoint(address: $0) }
        let gate = FirstSyncGate(databaseCount: databases.count)
        var metrics: [ReplicationMetrics] = []
        var replicators: [Replicator] = []
        for (number, database) in databases.enumerated() {
            var sinks: [any ReplicationEvents] = []
            var clients = database.replicas.map(\.client)
            if endpoint != nil {
                let sink = ReplicationMetrics(databasePath: database.databasePath,
                                              replicas: database.replicas.map { ($0.client.location, $0.label) })
                metrics.append(sink)
                sinks.append(sink)
                clients = database.replicas.map {
                    MeteredReplicaClient.metered($0.client, database: database.databasePath, replica: $0.label)
                }
            }
            if command != nil { sinks.append(gate.events(for: number)) }
            replicators.append(Replicator(databasePath: database.databasePath, replicas: clients, options: database.options,
                                          environment: environment, events: sinks.isEmpty ? nil : CombinedReplicationEvents(sinks)))
        }
        let server = try endpoint?.start(databases: metrics)
        if let server { logger.info("serving metrics", metadata: ["address": "\(server.address)", "path": "/metrics"]) }

        // The engine replicates until its task is cancelled, then syncs once more and returns.
        let replication = Task { try await Self.replicate(replicators) }
        if let command {
            let status = try await ExecSupervisor(command: command, logger: logger).run(gate: gate, replication: replication)
            withExtendedLifetime(server) {}
            if status != 0 { throw ExitCode(status) }
            return
        }
        let signals = SignalHandling.install(onFirstSignal: { number in
            logger.info("signal received; syncing replicas before exit", metadata: ["signal": "\(number)"])
            replication.cancel()
        })
        defer { withExtendedLifetime((signals, server)) {} }
        do {
            try await replication.value
        } catch is CancellationError where replication.isCancelled {
            // The engine is meant to return after its final sync; if cancellation escaped it
            // instead, the stop was still the one the user asked for.
            logger.warning("replication stopped before its final sync completed")
        }
    }

    /// Runs every replicator; the first to fail for good stops the others (each still syncs once
    /// more) and its error is thrown.
    private static func replicate(_ replicators: [Replicator]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for replicator in replicators {
                group.addTask { try await replicator.run() }
            }
            try await group.waitForAll()
        }
    }
}

/// `--exec` was given a command line that cannot be split into words.
struct ExecCommandError: Error, CustomStringConvertible {
    var reason: String
    var description: String { "--exec: \(reason)" }
}
