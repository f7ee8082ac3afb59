import ArgumentParser
import Core
import FoundationEssentials
import IO

/// `sluice restore [flags] DB_PATH|REPLICA_URL`: rebuilds a database from a replica, at its latest
/// state or at a chosen point, into a new file that appears only when complete.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a database from a replica.",
        discussion: """
            With a DB_PATH, the database's replicas in the config file are used (-replica NAME \
            picks one; without it the replica with the newest backup wins), else the replicas \
            recorded by 'sluice replicate' beside it, and the output defaults to DB_PATH. With a \
            REPLICA_URL, -o is required and no config file is read. \(ReplicaURLHelp.text) An \
            existing output is never overwritten.
            """)

    @Option(name: LegacyFlags.names("output", short: "o"), help: "Where to write the restored database.")
    var output: String?

    @Option(name: LegacyFlags.names("generation"), help: "Restore from this generation (default: the latest).")
    var generation: String?

    @Option(name: LegacyFlags.names("index"), help: "Stop after this WAL index (needs --generation).")
    var index: String?

    @Option(name: LegacyFlags.names("offset"), help: "Stop at this byte offset inside --index, a transaction boundary.")
    var offset: String?

    @Option(
        name: LegacyFlags.names("timestamp"), help: "Restore the last state replicated at or before this RFC 3339 time."
    )
    var timestamp: String?

    @Option(name: LegacyFlags.names("parallelism"), help: "How many WAL indexes to download at once (default 8).")
    var parallelism: Int = 8

    @Flag(
        name: LegacyFlags.names("integrity-check"), help: "Run PRAGMA integrity_check on the result before keeping it.")
    var integrityCheck = false

    @Flag(name: LegacyFlags.names("if-db-not-exists"), help: "Do nothing (exit 0) if the output already exists.")
    var ifDatabaseNotExists = false

    @Flag(name: LegacyFlags.names("if-replica-exists"), help: "Do nothing (exit 0) if no backups are found.")
    var ifReplicaExists = false

    @Flag(
        name: LegacyFlags.names("dry-run"),
        help: "Print the plan (generation, snapshot, WAL, bytes to download); download nothing.")
    var dryRun = false

    @Flag(
        name: LegacyFlags.names("json"),
        help: "With --dry-run, print the plan as one JSON document (docs/restore.md).")
    var json = false

    @Flag(
        name: LegacyFlags.names("follow", short: "f"),
        help: "After restoring, keep applying new WAL as it lands (a read replica).")
    var follow = false

    @Option(name: LegacyFlags.names("interval"), help: "How often --follow looks for new WAL.")
    var interval: String = "1s"

    @Option(
        name: LegacyFlags.names("progress-interval"),
        help: "When stderr is not a terminal, how often a restore logs its progress.")
    var progressInterval: String = "5s"

    @OptionGroup var replica: ReplicaArguments
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let (generation, target) = try parseTarget()
        guard parallelism >= 1 else { throw CLIError.invalidNumber(flag: "parallelism", value: String(parallelism)) }
        let pollInterval = try checkModeFlags()
        let outputPath = try resolveOutputPath()
        let logger = try logging.makeLogger()
        let environment = ProductionEnvironment.make(logger: logger)

        if try await environment.fileSystem.stat(outputPath) != nil {
            if ifDatabaseNotExists {
                print("\(outputPath) already exists; skipping restore")
                return
            }
            throw CLIError.outputExists(path: outputPath)
        }

        let clients = try await replica.clients(environment: environment)
        let loaded = try await LoadedReplica.loadAll(clients, environment: environment)
        guard let chosen = try choose(from: loaded, generation: generation) else {
            if ifReplicaExists {
                print("no backups found; skipping restore")
                return
            }
            throw CLIError.noBackups(replicas: loaded.map(\.client.location))
        }

        var request = RestoreRequest(
            outputPath: outputPath, generation: generation, target: target,
            parallelism: parallelism, integrityCheck: integrityCheck, overwrite: false)
        if dryRun {
            return try await printPlan(request, client: chosen.client, environment: environment)
        }
        let meter = ProgressMeter.restore()
        request.progress = meter
        let display = ProgressDisplay.start(
            meter, label: "restore", logger: logger,
            logInterval: try progressLogInterval())
        if let pollInterval {
            return try await runFollower(
                request, client: chosen.client, interval: pollInterval,
                environment: environment, display: display)
        }
        let report: RestoreReport
        do {
            report = try await display.around {
                try await environment.spawner.run {
                    try await Restorer(client: chosen.client, environment: environment).restore(request)
                }
            }
        } catch RestoreError.noBackups where ifReplicaExists {
            print("no backups found; skipping restore")
            return
        }
        print(RestoreSummary.text(report: report, outputPath: outputPath, replica: chosen.client.location))
    }

    /// The generation and target the flags ask for, with their combinations checked.
    func parseTarget() throws -> (Generation?, RestoreTarget) {
        var parsedGeneration: Generation?
        if let generation {
            guard let value = Generation(generation) else { throw CLIError.invalidGeneration(generation) }
            parsedGeneration = value
        }
        if index != nil && parsedGeneration == nil {
            throw CLIError.flagRequires(flag: "index", required: "generation")
        }
        if offset != nil && index == nil { throw CLIError.flagRequires(flag: "offset", required: "index") }
        if index != nil && timestamp != nil { throw CLIError.flagsExclusive("index", "timestamp") }

        if let timestamp {
            guard let time = RFC3339.parse(timestamp) else { throw CLIError.invalidTimestamp(timestamp) }
            return (parsedGeneration, .timestamp(time))
        }
        if let index {
            let indexValue = try Self.number(index, flag: "index")
            if let offset {
                return (parsedGeneration, .position(index: indexValue, offset: try Self.number(offset, flag: "offset")))
            }
            return (parsedGeneration, .index(indexValue))
        }
        return (parsedGeneration, .latest)
    }

    /// `-o`, or the database path itself when restoring a database from its recorded replicas.
    func resolveOutputPath() throws -> String {
        if let output { return AbsolutePath.make(output) }
        guard !replica.isReplicaURL else { throw CLIError.outputRequired(replicaURL: replica.target) }
        return replica.databasePath
    }

    /// The replica to restore from: among those holding the requested generation (or any, when
    /// none is named), the one whose newest generation is newest, ties going to the most recent
    /// upload and then to the order replicas were given. Nil when no replica holds any backup.
    func choose(from loaded: [LoadedReplica], generation: Generation?) throws -> LoadedReplica? {
        func newest(_ replica: LoadedReplica) -> GenerationListing? {
            let candidates = replica.listing.generations.filter { !$0.snapshots.isEmpty }
            if let generation { return candidates.first { $0.generation == generation } }
            return candidates.last
        }
        var best: (replica: LoadedReplica, listing: GenerationListing)?
        for replica in loaded {
            guard let listing = newest(replica) else { continue }
            guard let current = best else {
                best = (replica, listing)
                continue
            }
            let end = listing.timeBounds?.end
            let currentEnd = current.listing.timeBounds?.end
            if listing.generation > current.listing.generation
                || (listing.generation == current.listing.generation
                    && (end ?? .init(millisecondsSince1970: 0)) > (currentEnd ?? .init(millisecondsSince1970: 0)))
            {
                best = (replica, listing)
            }
        }
        if best == nil, let generation, loaded.contains(where: { !$0.listing.generations.isEmpty }) {
            throw CLIError.generationNotFound(generation, replicas: loaded.map(\.client.location))
        }
        return best?.replica
    }

    /// Decimal, or hex with a `0x` prefix (replica paths spell indexes in hex).
    static func number(_ text: String, flag: String) throws -> UInt64 {
        let value = text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
        guard let value else { throw CLIError.invalidNumber(flag: flag, value: text) }
        return value
    }
}

/// The few lines `sluice restore` prints on success.
enum RestoreSummary {
    static func text(report: RestoreReport, outputPath: String, replica: String) -> String {
        let indexes: String
        if let first = report.appliedIndexes.first, let last = report.appliedIndexes.last {
            indexes = first == last ? "\(first)" : "\(first)-\(last) (\(report.appliedIndexes.count))"
        } else {
            indexes = "none"
        }
        return """
            restored \(outputPath) from \(replica)
              generation:  \(report.generation)
              snapshot:    index \(report.snapshotIndex)
              WAL indexes: \(indexes)
              position:    \(report.finalPosition)
            """
    }
}
