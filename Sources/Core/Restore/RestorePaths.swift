/// The names of every file a restore creates beside its output. Nothing but the output itself
/// survives a restore, finished or failed.
public struct RestorePaths: Sendable, Equatable {
    /// The database file the restore produces.
    public let output: String

    public init(output: String) { self.output = output }

    /// The database under construction; renamed to `output` only when complete.
    public var database: String { output + ".tmp" }
    /// Where the WAL being applied sits, so SQLite finds it as `database`'s WAL.
    public var wal: String { database + "-wal" }
    public var sharedMemory: String { database + "-shm" }
    public var journal: String { database + "-journal" }

    /// Where the downloader assembles WAL index `index`.
    public func downloadedWAL(index: UInt64) -> String {
        "\(database)-\(Hex.format(index, width: 16))-wal"
    }

    /// The fixed-name temp files, removed before a restore starts and after it ends.
    public var fixedTemporaries: [String] { [database, wal, sharedMemory, journal] }

    /// SQLite's companions of the output; stale ones would be replayed onto the restored file.
    public var outputCompanions: [String] { [output + "-wal", output + "-shm", output + "-journal"] }
}
