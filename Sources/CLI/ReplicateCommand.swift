import ArgumentParser
import Core
import IO
import Logging

/// `sluice replicate DB_PATH REPLICA_URL...`: replicates until SIGINT or SIGTERM, then does a final
/// sync of the database and every replica and exits 0 (see `SignalHandling` for a second signal).
struct ReplicateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replicate",
        abstract: "Continuously replicate a database to one or more replicas.",
        discussion: """
            Replicas are URLs: file:///absolute/path (more schemes as they are added). Sluice owns \
            checkpoints of the database while it runs; applications should set PRAGMA busy_timeout. \
            Stop with SIGINT or SIGTERM: sluice syncs once more and exits 0. A second signal exits at \
            once with status 1.
            """)

    @Argument(help: "The SQLite database to replicate (it is switched to WAL mode).")
    var databasePath: String

    @Argument(help: ArgumentHelp("Where to replicate to.", valueName: "REPLICA_URL"))
    var replicaURLs: [String]

    @Option(name: LegacyFlags.names("sync-interval"), help: "How often replicas upload new WAL (default 1s).")
    var syncInterval: String?

    @Option(name: LegacyFlags.names("monitor-interval"), help: "How often the WAL is checked for new frames (default 1s).")
    var monitorInterval: String?

    @Option(name: LegacyFlags.names("snapshot-interval"),
            help: "How often to take a snapshot (default: only when a generation starts or retention needs one).")
    var snapshotInterval: String?

    @Option(name: LegacyFlags.names("retention"), help: "How long to keep history; 0 keeps everything (default 24h).")
    var retention: String?

    @Option(name: LegacyFlags.names("retention-check-interval"), help: "How often retention runs (default 1h).")
    var retentionCheckInterval: String?

    @Option(name: LegacyFlags.names("layout"), help: "Replica layout to write: grouped (default) or legacy (Litestream v0.3).")
    var layout: String?

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let options = try makeOptions()
        let logger = try logging.makeLogger()
        let environment = ProductionEnvironment.make(logger: logger)
        guard !replicaURLs.isEmpty else {
            throw ValidationError("replicate needs at least one REPLICA_URL")
        }
        let replicas = try replicaURLs.map {
            try ReplicaClientFactory.makeClient(for: ReplicaURL(parsing: $0), fileSystem: environment.fileSystem,
                                                writeLayout: options.layout)
        }
        let replicator = Replicator(databasePath: AbsolutePath.make(databasePath), replicas: replicas,
                                    options: options, environment: environment)

        // The engine replicates until its task is cancelled, then syncs once more and returns.
        let replication = Task { try await replicator.run() }
        let signals = SignalHandling.install { number in
            logger.info("signal received; syncing replicas before exit", metadata: ["signal": "\(number)"])
            replication.cancel()
        }
        defer { withExtendedLifetime(signals) {} }
        do {
            try await replication.value
        } catch is CancellationError where replication.isCancelled {
            // The engine is meant to return after its final sync; if cancellation escaped it
            // instead, the stop was still the one the user asked for.
            logger.warning("replication stopped before its final sync completed")
        }
    }

    /// The engine options the flags ask for, every value checked before anything starts.
    func makeOptions() throws -> ReplicationOptions {
        var options = ReplicationOptions()
        if let syncInterval { options.syncInterval = try Self.positiveDuration(syncInterval, flag: "sync-interval") }
        if let monitorInterval {
            options.monitorInterval = try Self.positiveDuration(monitorInterval, flag: "monitor-interval")
        }
        if let snapshotInterval {
            let value = try Self.duration(snapshotInterval, flag: "snapshot-interval")
            options.snapshotInterval = value == .zero ? nil : value
        }
        if let retention {
            let value = try Self.duration(retention, flag: "retention")
            options.retention = value == .zero ? nil : value
        }
        if let retentionCheckInterval {
            options.retentionCheckInterval = try Self.positiveDuration(retentionCheckInterval,
                                                                       flag: "retention-check-interval")
        }
        if let layout {
            guard let parsed = ReplicaLayout(rawValue: layout) else { throw CLIError.invalidLayout(layout) }
            options.layout = parsed
        }
        return options
    }

    /// A duration flag: `DurationParser` syntax, never negative.
    static func duration(_ text: String, flag: String) throws -> Duration {
        guard let value = DurationParser.parse(text), value >= .zero else {
            throw CLIError.invalidDuration(flag: flag, value: text)
        }
        return value
    }

    /// A duration flag that must be above zero (an interval of zero would spin).
    static func positiveDuration(_ text: String, flag: String) throws -> Duration {
        let value = try duration(text, flag: flag)
        guard value > .zero else { throw CLIError.zeroInterval(flag: flag) }
        return value
    }
}
