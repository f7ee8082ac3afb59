import ArgumentParser
import Core
import Foundation
import IO

/// The `DB_PATH|REPLICA_URL` argument of restore and the listing commands.
///
/// An argument with a scheme (`file://`, `s3://`, ...) names one replica. Anything else is a
/// database path, and its replicas are the ones a previous `sluice replicate` recorded beside it.
struct ReplicaArguments: ParsableArguments {
    @Argument(help: ArgumentHelp("A database path (its recorded replicas are used) or a replica URL.",
                                 valueName: "DB_PATH|REPLICA_URL"))
    var target: String

    /// Whether the argument names a replica rather than a database.
    var isReplicaURL: Bool { ReplicaURL.looksLikeURL(target) }

    /// The database path made absolute; only meaningful when `isReplicaURL` is false.
    var databasePath: String { AbsolutePath.make(target) }

    /// The replica clients the argument names, in the order they were recorded.
    func clients(environment: Environment) async throws -> [any ReplicaClient] {
        if isReplicaURL {
            return [try ReplicaClientFactory.makeClient(for: ReplicaURL(parsing: target),
                                                         fileSystem: environment.fileSystem)]
        }
        let path = databasePath
        let recorded = try await Replicator.recordedReplicas(databasePath: path,
                                                             fileSystem: environment.fileSystem)
        guard !recorded.isEmpty else {
            if try await environment.fileSystem.stat(path) == nil { throw CLIError.databaseMissing(path: path) }
            throw CLIError.noRecordedReplicas(databasePath: path)
        }
        return try recorded.map {
            try ReplicaClientFactory.makeClient(for: ReplicaURL(parsing: $0),
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
                environment.logger.warning("cannot list replica", metadata: [
                    "replica.location": "\(client.location)", "error": "\(CLIError.describe(error))"])
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
