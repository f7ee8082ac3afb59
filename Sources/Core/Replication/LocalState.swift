/// Where the replicator keeps its local state, beside the database:
///
///     /data/app.db
///     /data/.app.db-sluice/generation                       "<generation>\n" (tmp + rename)
///     /data/.app.db-sluice/replicas                         one replica location per line
///     /data/.app.db-sluice/lock                             SQLite file the running replicator locks
///     /data/.app.db-sluice/leases                           the lease token taken per replica
///     /data/.app.db-sluice/stopped                          left by a clean stop (`StopRecord`)
///     /data/.app.db-sluice/generations/<gen>/wal/<index16>.wal   shadow WAL: header + committed frames
///
/// Temp files (`*.tmp`) are leftovers of a crash and are removed at start-up.
public struct LocalState: Sendable, Equatable {
    public let databasePath: String
    /// `.<db-name>-sluice` beside the database, unless a config file's `meta-path` moved it.
    public let directory: String

    public init(databasePath: String, directory: String? = nil) {
        self.databasePath = databasePath
        self.directory =
            directory ?? Path.join(Path.directory(of: databasePath), ".\(Path.base(of: databasePath))-sluice")
    }

    public var generationFile: String { Path.join(directory, "generation") }
    public var replicasFile: String { Path.join(directory, "replicas") }
    /// Written by a clean stop, removed by the next start (`StopRecord`).
    public var stopRecordFile: String { Path.join(directory, "stopped") }
    /// Held exclusively by the running replicator (`LocalReplicatorLock`).
    public var lockPath: String { Path.join(directory, "lock") }
    /// The lease tokens the replicator took (`LocalLeaseRecord`).
    public var leasesPath: String { Path.join(directory, "leases") }
    public var generationsDirectory: String { Path.join(directory, "generations") }
    public var walPath: String { databasePath + "-wal" }

    public func generationDirectory(_ generation: Generation) -> String {
        Path.join(generationsDirectory, generation.description)
    }

    public func shadowDirectory(_ generation: Generation) -> String {
        Path.join(generationDirectory(generation), "wal")
    }

    public func shadowPath(_ generation: Generation, index: UInt64) -> String {
        Path.join(shadowDirectory(generation), Hex.format(index, width: 16) + ".wal")
    }

    /// Parses a shadow file name `<index16>.wal`.
    public static func parseShadowName(_ name: String) -> UInt64? {
        guard name.hasSuffix(".wal") else { return nil }
        return Hex.parse(name.dropLast(4), widths: 16...16)
    }
}
