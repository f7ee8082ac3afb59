import Config
import Core
import FoundationEssentials
import IO

/// Clients for the replicas a config file describes.
enum ConfiguredReplica {
    /// The client for `replica`, with the credentials the config gave it (they take the place of
    /// the process's AWS variables for this replica only).
    static func makeClient(_ replica: ReplicaSettings, fileSystem: any FileSystem) throws -> any ReplicaClient {
        var environment = ProcessInfo.processInfo.environment
        if !replica.credentialEnvironment.isEmpty {
            // A session token from the environment belongs to the environment's keys, not these.
            environment["AWS_SESSION_TOKEN"] = nil
            environment.merge(replica.credentialEnvironment) { _, configured in configured }
        }
        return try ReplicaClientFactory.makeClient(
            for: replica.url, fileSystem: fileSystem, writeLayout: replica.options.layout,
            environment: environment)
    }

    /// The database's replicas, or only the one `-replica NAME` picks.
    static func select(_ database: DatabaseSettings, name: String?) throws -> [ReplicaSettings] {
        guard let name else { return database.replicas }
        guard let replica = database.replica(named: name) else {
            throw CLIError.replicaNotInConfig(name: name, database: database.path, known: database.replicas.map(\.name))
        }
        return [replica]
    }
}
