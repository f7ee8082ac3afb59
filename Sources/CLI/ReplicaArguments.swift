import ArgumentParser
import Core
import FoundationEssentials
import IO

/// The `DB_PATH|REPLICA_URL` argument of restore and the listing commands.
///
/// An argument with a scheme (`file://`, `s3://`, ...) names one replica. Anything else is a
/// database path: its replicas are the config file's for that database (`-replica NAME` picks
/// one), else the ones a previous `sluice replicate` recorded beside it.
struct ReplicaArguments: ParsableArguments {
    @Argument(
        help: ArgumentHelp(
            "A database path (its configured or recorded replicas are used) or a replica URL.",
            valueName: "DB_PATH|REPLICA_URL"))
    var target: String

    @Option(
        name: LegacyFlags.names("replica"),
        help: "Use only the configured replica of this name (default: all of the database's).")
    var replicaName: String?

    @OptionGroup var config: ConfigOptions

    /// Whether the argument names a replica rather than a database.
    var isReplicaURL: Bool { ReplicaURL.looksLikeURL(target) }

    /// The database path made absolute; only meaningful when `isReplicaURL` is false.
    var databasePath: String { AbsolutePath.make(target) }

    /// The replica clients the argument names, in the order they were configured or recorded.
    func clients(environment: Environment) async throws -> [any ReplicaClient] {
        if isReplicaURL {
            if config.configPath != nil { throw CLIError.configWithReplicaURL }
            if replicaName != nil { throw CLIError.replicaNameWithURL }
            return [
                try ReplicaClientFactory.makeClient(
                    for: ReplicaURL(parsing: target),
                    fileSystem: environment.fileSystem)
            ]
        }
        let path = databasePath
        let loaded = try config.load()
        if let database = loaded?.settings.database(atPath: path) {
            return try ConfiguredReplica.select(database, name: replicaName).map {
                try ConfiguredReplica.makeClient($0, fileSystem: environment.fileSystem)
            }
        }
        if let replicaName {
            throw CLIError.replicaNotInConfig(name: replicaName, database: path, known: [])
        }
        let recorded = try await Replicator.recordedReplicas(
            databasePath: path,
            fileSystem: environment.fileSystem)
        guard !recorded.isEmpty else {
            if let loaded { throw CLIError.notInConfig(path: path, config: loaded.settings.configPath) }
            if try await environment.fileSystem.stat(path) == nil { throw CLIError.databaseMissing(path: path) }
            throw CLIError.noRecordedReplicas(databasePath: path)
        }
        return try recorded.map {
            try ReplicaClientFactory.makeClient(
                for: ReplicaURL(parsing: $0),
                fileSystem: environment.fileSystem)
        }
    }
}

/// The listings of several replicas, each kept with its client.
struct LoadedReplica {
    var client: any ReplicaClient
    var listing: ReplicaListing

    /// Lists every client. One failing replica among several is logged and skipped; if every
    /// replica fails, the first failure is thrown, since there is nothing left to show.
    static func loadAll(_ clients: [any ReplicaClient], environment: Environment) async throws -> [LoadedReplica] {
        var loaded: [LoadedReplica] = []
        var firstError: Error?
        for client in clients {
            do {
                loaded.append(LoadedReplica(client: client, listing: try await ReplicaListing.load(from: client)))
            } catch {
                if clients.count == 1 { throw error }
                environment.logger.warning(
                    "cannot list replica",
                    metadata: [
                        "replica.location": "\(client.location)", "error": "\(CLIError.describe(error))",
                    ])
                firstError = firstError ?? error
            }
        }
        if loaded.isEmpty, let firstError { throw firstError }
        return loaded
    }
}

/// Paths the user typed, made absolute against the working directory: the file-system port
/// takes absolute paths only.
enum AbsolutePath {
    static func make(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : Path.join(FileManager.default.currentDirectoryPath, path)
        return URL(fileURLWithPath: absolute).standardizedFileURL.path
    }
}
