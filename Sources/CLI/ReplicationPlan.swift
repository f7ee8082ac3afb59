import Core
import Logging

/// Everything `sluice replicate` runs, resolved from the command line (one database) or from
/// the config file (every configured database): the replicators, and the process-wide
/// settings that are started beside them.
///
/// `exec` and `addr` are parsed and checked here (from the config's `exec:` and `addr:`);
/// `ReplicationRunner.run` is where a metrics server for `addr` and a supervised child for
/// `exec` are to be started (see the marked place there).
struct ReplicationPlan {
    /// One per database, each with all its replicas.
    var replicators: [Replicator]
    /// The command to run once every database has synced (`exec:`).
    var exec: String?
    /// Where to serve metrics (`addr:`).
    var addr: String?
    var logger: Logger
    var environment: Environment
}

/// A database's replication ended with an error no retry could fix (a lost lease, a database
/// that cannot be opened): named, so that among many databases the line says which.
struct DatabaseReplicationError: Error, CustomStringConvertible {
    var databasePath: String
    var underlying: any Error

    var description: String { "\(databasePath): \(CLIError.describe(underlying))" }
}
