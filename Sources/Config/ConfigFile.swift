/// A value read from the config file with where it was written, so a check made later (two
/// databases with one path, a name used twice) can still name the line and the key.
public struct Setting<Value: Sendable>: Sendable {
    public var value: Value
    public var line: Int
    public var key: String
}

/// A config file's keys as written, each checked for its type but not yet against each other
/// (`ConfigValidator` does that). Litestream 0.3's keys, its 0.5 `replica:`, and Sluice's own.
public struct ConfigFile: Sendable {
    public var path: String
    public var addr: Setting<String>?
    public var exec: Setting<String>?
    public var accessKeyID: Setting<String>?
    public var secretAccessKey: Setting<String>?
    public var logging: LoggingSection?
    public var databases: [DatabaseSection] = []
    /// The line of `dbs:` (1 when it is missing, for "no databases").
    public var databasesLine = 1

    /// Top-level keys.
    static let keys = ["dbs", "addr", "exec", "access-key-id", "secret-access-key", "logging"]
}

/// `logging:`.
public struct LoggingSection: Sendable {
    public var level: Setting<String>?
    /// `text` or `json`.
    public var type: Setting<String>?
    public var stderr: Setting<Bool>?

    static let keys = ["level", "type", "stderr"]
}

/// One entry of `dbs:`.
public struct DatabaseSection: Sendable {
    public var line: Int
    public var key: String
    public var path: Setting<String>?
    public var metaPath: Setting<String>?
    public var monitorInterval: Setting<Duration>?
    public var checkpointInterval: Setting<Duration>?
    public var minCheckpointPageCount: Setting<Int>?
    /// Litestream's RESTART threshold; Sluice's emergency TRUNCATE threshold.
    public var maxCheckpointPageCount: Setting<Int>?
    public var truncatePageCount: Setting<Int>?
    public var replicas: [ReplicaSection] = []
    /// Where `replicas:` or `replica:` was written, if either was.
    public var replicasLine: Int?

    static let keys = [
        "path", "meta-path", "monitor-interval", "checkpoint-interval", "min-checkpoint-page-count",
        "max-checkpoint-page-count", "truncate-page-count", "replicas", "replica",
    ]
}

/// One entry of a database's `replicas:` (or its single `replica:`).
public struct ReplicaSection: Sendable {
    public var line: Int
    public var key: String
    public var type: Setting<String>?
    public var name: Setting<String>?
    public var url: Setting<String>?
    public var path: Setting<String>?
    // S3
    public var bucket: Setting<String>?
    public var region: Setting<String>?
    public var endpoint: Setting<String>?
    public var forcePathStyle: Setting<Bool>?
    public var skipVerify: Setting<Bool>?
    public var accessKeyID: Setting<String>?
    public var secretAccessKey: Setting<String>?
    // SFTP
    public var host: Setting<String>?
    public var user: Setting<String>?
    public var password: Setting<String>?
    public var keyPath: Setting<String>?
    public var hostKeySHA256: Setting<String>?
    public var knownHosts: Setting<String>?
    public var insecureHostKey: Setting<Bool>?
    // Schedules
    public var retention: Setting<Duration>?
    public var retentionCheckInterval: Setting<Duration>?
    public var snapshotInterval: Setting<Duration>?
    public var syncInterval: Setting<Duration>?
    public var validationInterval: Setting<Duration>?
    // Sluice's own
    public var layout: Setting<String>?
    public var leaseDuration: Setting<Duration>?

    static let keys = [
        "type", "name", "url", "path", "bucket", "region", "endpoint", "force-path-style", "skip-verify",
        "access-key-id", "secret-access-key", "host", "user", "password", "key-path",
        "host-key-sha256", "known-hosts", "insecure-host-key",
        "retention", "retention-check-interval", "snapshot-interval", "sync-interval",
        "validation-interval", "layout", "lease-duration",
    ]
}
