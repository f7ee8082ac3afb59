import Core
import Logging

/// Everything `sluice replicate` runs, resolved from the command line (one database) or from
/// the config file (every configured database): the databases with their replicas, and the
/// process-wide settings started beside them (`exec`, `addr`). `ReplicationRunner` runs it.
struct ReplicationPlan {
    /// One per database, each with all its replicas.
    var databases: [DatabaseReplication]
    /// The command to run once every database has synced (`--exec` or `exec:`).
    var exec: String?
    /// Where to serve metrics (`--addr` or `addr:`).
    var addr: String?
    var logger: Logger
    var environment: Environment
}

/// One database to replicate, as the command line or a config file describes it.
struct DatabaseReplication {
    /// Absolute.
    var databasePath: String
    /// Each replica's client and its `replica` metric label (its configured name, or its location).
    var replicas: [(client: any ReplicaClient, label: String)]
    /// The database's options, and every replica's unless `replicaOptions` is given.
    var options: ReplicationOptions
    /// One per replica, in order (a config file's per-replica settings); nil: `options` for all.
    var replicaOptions: [ReplicationOptions]?
}

/// A database's replication ended with an error no retry could fix (a lost lease, a database
/// that cannot be opened): named, so that among many databases the line says which.
struct DatabaseReplicationError: Error, CustomStringConvertible {
    var databasePath: String
    var underlying: any Error

    var description: String { "\(databasePath): \(CLIError.describe(underlying))" }
}
