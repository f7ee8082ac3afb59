import Core
import Logging

/// What a config file asks `sluice replicate` (and the other commands) to do, checked and
/// resolved: engine options, replica URLs and credentials per database, plus the process-wide
/// settings (`exec`, `addr`, logging). Built by `ConfigValidator`; nothing here is read again
/// from the file.
public struct ReplicationSettings: Sendable {
    /// The config file these settings came from.
    public var configPath: String
    public var databases: [DatabaseSettings]
    /// `exec:`, the command to run once every database has synced (run by `replicate -exec`).
    public var exec: String?
    /// `addr:`, where to serve metrics (`:9090`, `127.0.0.1:9090`).
    public var addr: String?
    public var logging: LoggingSettings

    /// The database configured at `path` (compared as absolute paths).
    public func database(atPath path: String) -> DatabaseSettings? {
        databases.first { $0.path == path }
    }
}

/// `logging:`.
public struct LoggingSettings: Sendable, Equatable {
    public enum Format: String, Sendable, Equatable {
        case text, json
    }

    /// nil: `--log-level`, `$SLUICE_LOG_LEVEL`, else info.
    public var level: Logger.Level?
    public var format: Format = .text
    /// Sluice logs to standard error unless `stderr: false` asks for standard output (which is
    /// Litestream's default).
    public var toStandardError = true

    public init(level: Logger.Level? = nil, format: Format = .text, toStandardError: Bool = true) {
        self.level = level
        self.format = format
        self.toStandardError = toStandardError
    }
}

/// One configured database.
public struct DatabaseSettings: Sendable {
    /// Absolute.
    public var path: String
    /// The database's options: monitor interval and checkpoints, and a sync interval that is the
    /// shortest of its replicas' (the monitor wakes the replicas no more often than that).
    public var options: ReplicationOptions
    public var replicas: [ReplicaSettings]

    /// The replica named `name`.
    public func replica(named name: String) -> ReplicaSettings? {
        replicas.first { $0.name == name }
    }
}

/// One replica of a configured database.
public struct ReplicaSettings: Sendable {
    /// `name:`, else the type (`file`, `s3`, `sftp`), as in Litestream.
    public var name: String
    /// Whether the file gave `name:`: metrics label a replica by its name only then, else by its
    /// location, as they do for a replica given on the command line.
    public var isNamed: Bool
    public var url: ReplicaURL
    /// This replica's options: its sync interval, snapshots, retention and lease, on top of the
    /// database's.
    public var options: ReplicationOptions
    /// Credentials the config gave this replica (its own, else the top-level ones), as the
    /// environment variables the S3 client reads; empty when it reads the process's environment.
    /// Never printed.
    public var credentialEnvironment: [String: String]

    /// The URL for messages and listings: no password, no secret.
    public var displayURL: String { url.description }

    /// `file`, `s3` or `sftp`.
    public var type: String {
        switch url {
        case .file: return "file"
        case .s3: return "s3"
        case .sftp: return "sftp"
        }
    }
}
