import ArgumentParser
import Core
import FoundationEssentials
import IO
import Logging

/// `sluice replicate [DB_PATH REPLICA_URL...]`: replicates until SIGINT or SIGTERM, then does a
/// final sync of every database and replica and exits 0 (see `SignalHandling` for a second
/// signal). Without arguments, every database of the config file; with them, that one database
/// (the config file is then not read, as in Litestream).
struct ReplicateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replicate",
        abstract: "Continuously replicate databases to their replicas.",
        discussion: """
            Without arguments, replicates every database of the config file (-config PATH, else \
            $SLUICE_CONFIG, else ./sluice.yml, else /etc/sluice.yml) to every one of its replicas. \
            With DB_PATH and REPLICA_URLs, replicates that database and reads no config file. \
            \(ReplicaURLHelp.text) Sluice owns checkpoints of the database while it runs; \
            applications should set PRAGMA busy_timeout. Stop with SIGINT or SIGTERM: sluice syncs \
            once more and exits 0. A second signal exits at once with status 1. With --exec (or \
            exec: in the config), the command starts after the first sync of every database, \
            signals go to it, and sluice exits with its status after a final sync (see \
            docs/deployment.md).
            """)

    @Argument(help: "The SQLite database to replicate (it is switched to WAL mode); omit to use the config file.")
    var databasePath: String?

    @Argument(help: ArgumentHelp("Where to replicate to.", valueName: "REPLICA_URL"))
    var replicaURLs: [String] = []
    @Option(
        name: LegacyFlags.names("sync-interval"),
        help:
            "The minimum gap between two uploads of a replica; uploads start as soon as new frames are copied (default 1s)."
    )
    var syncInterval: String?

    @Option(
        name: LegacyFlags.names("monitor-interval"),
        help:
            "Without inotify, the longest time between two copies of new WAL frames (default 1s); with it a change is noticed at once."
    )
    var monitorInterval: String?

    @Option(
        name: LegacyFlags.names("snapshot-interval"),
        help: "How often to take a snapshot (default: only when a generation starts or retention needs one).")
    var snapshotInterval: String?

    @Option(name: LegacyFlags.names("retention"), help: "How long to keep history; 0 keeps everything (default 24h).")
    var retention: String?

    @Option(name: LegacyFlags.names("retention-check-interval"), help: "How often retention runs (default 1h).")
    var retentionCheckInterval: String?

    @Option(
        name: LegacyFlags.names("layout"),
        help: "Replica layout to write: grouped (default) or legacy (Litestream v0.3).")
    var layout: String?

    @Option(
        name: LegacyFlags.names("min-checkpoint-page-count"),
        help: "Checkpoint (PASSIVE) once the current WAL index holds this many frames (default 1000).")
    var minCheckpointPageCount: Int?

    @Option(
        name: LegacyFlags.names("checkpoint-interval"),
        help: "Checkpoint (PASSIVE) after the WAL has been idle this long; 0 disables (default 1m).")
    var checkpointInterval: String?

    @Option(
        name: LegacyFlags.names("truncate-page-count"),
        help: "Emergency TRUNCATE checkpoint once the WAL file holds this many frames; 0 disables (default 500000).")
    var truncatePageCount: Int?

    @Option(
        name: LegacyFlags.names("lease-duration"),
        help:
            "How long a replica lease lasts without renewal; a crashed replicator blocks a successor at most this long (default 30s)."
    )
    var leaseDuration: String?

    @Option(
        name: LegacyFlags.names("exec"),
        help: ArgumentHelp(
            "Run this command once the first sync of every database is done; signals go to it, and sluice syncs once more and exits with its status when it exits.",
            valueName: "CMD ARGS"))
    var exec: String?

    @Option(
        name: LegacyFlags.names("addr"),
        help: ArgumentHelp(
            "Serve Prometheus metrics at /metrics on ADDR, like :9090 or 127.0.0.1:9090.", valueName: "ADDR"))
    var addr: String?

    @OptionGroup var config: ConfigOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let plan = databasePath == nil ? try planFromConfig() : try planFromArguments()
        try await ReplicationRunner.run(plan)
    }

    /// One database, its replicas given as URLs.
    func planFromArguments() throws -> ReplicationPlan {
        if config.configPath != nil { throw CLIError.configWithArguments }
        guard let databasePath, !replicaURLs.isEmpty else {
            throw ValidationError("replicate needs at least one REPLICA_URL after DB_PATH")
        }
        let options = try makeOptions()
        let logger = try logging.makeLogger()
        let environment = ProductionEnvironment.make(logger: logger)
        let replicas = try replicaURLs.map {
            try ReplicaClientFactory.makeClient(
                for: ReplicaURL(parsing: $0), fileSystem: environment.fileSystem,
                writeLayout: options.layout)
        }
        let database = DatabaseReplication(
            databasePath: AbsolutePath.make(databasePath),
            replicas: replicas.map { ($0, $0.location) }, options: options)
        return ReplicationPlan(databases: [database], exec: exec, addr: addr, logger: logger, environment: environment)
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
            options.retentionCheckInterval = try Self.positiveDuration(
                retentionCheckInterval,
                flag: "retention-check-interval")
        }
        if let layout {
            guard let parsed = ReplicaLayout(rawValue: layout) else { throw CLIError.invalidLayout(layout) }
            options.layout = parsed
        }
        if let minCheckpointPageCount { options.checkpoint.minimumPages = minCheckpointPageCount }
        if let checkpointInterval {
            let value = try Self.duration(checkpointInterval, flag: "checkpoint-interval")
            options.checkpoint.idleInterval = value == .zero ? nil : value
        }
        if let truncatePageCount { options.checkpoint.truncatePages = truncatePageCount == 0 ? nil : truncatePageCount }
        options.checkpoint = try options.checkpoint.validated()
        if let leaseDuration {
            options.leaseDuration = try Self.positiveDuration(leaseDuration, flag: "lease-duration")
        }
        options.leaseOwner = Self.leaseOwner
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
