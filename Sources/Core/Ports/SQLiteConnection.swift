/// A value in or out of SQLite.
public enum SQLiteValue: Sendable, Equatable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    public var integerValue: Int64? {
        if case .integer(let v) = self { return v }
        return nil
    }

    public var textValue: String? {
        if case .text(let v) = self { return v }
        return nil
    }
}

/// SQLite checkpoint modes (`sqlite3_wal_checkpoint_v2`).
public enum CheckpointMode: String, Sendable, CaseIterable {
    case passive = "PASSIVE"
    case full = "FULL"
    case restart = "RESTART"
    case truncate = "TRUNCATE"
}

/// The row `PRAGMA wal_checkpoint` returns.
public struct CheckpointResult: Sendable, Equatable {
    /// True when the checkpoint could not finish because a reader or writer held it up.
    public var busy: Bool
    /// Frames in the WAL, or -1 if the database is not in WAL mode.
    public var walFrames: Int
    /// Frames copied back into the database file, in total.
    public var checkpointedFrames: Int

    public init(busy: Bool, walFrames: Int, checkpointedFrames: Int) {
        self.busy = busy
        self.walFrames = walFrames
        self.checkpointedFrames = checkpointedFrames
    }
}

/// Errors from the SQLite port; `code` is SQLite's (extended) result code.
public struct SQLiteError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int32
    public var message: String
    /// The SQL or operation that failed, for context.
    public var context: String

    public init(code: Int32, message: String, context: String) {
        self.code = code
        self.message = message
        self.context = context
    }

    /// SQLITE_BUSY or SQLITE_LOCKED, in any extended form.
    public var isBusy: Bool { code & 0xFF == 5 || code & 0xFF == 6 }
    /// SQLITE_NOTADB: the file is not a database.
    public var isNotADatabase: Bool { code & 0xFF == 26 }

    public var description: String { "\(context): \(message) (sqlite code \(code))" }
}

/// One SQLite connection. Calls are serialised by the caller (one task at a time).
public protocol SQLiteConnection: AnyObject, Sendable {
    /// Runs one or more statements that return no rows of interest.
    func execute(_ sql: String) async throws
    /// Runs one statement with bound parameters and returns every row.
    func query(_ sql: String, _ parameters: [SQLiteValue]) async throws -> [[SQLiteValue]]
    /// `sqlite3_wal_checkpoint_v2` on the main schema. Outside a transaction it first reads the
    /// database header, so a WAL another connection left behind is opened and recovered before
    /// the checkpoint counts it (a restore applies each downloaded WAL this way).
    func checkpoint(_ mode: CheckpointMode) async throws -> CheckpointResult
    /// `SQLITE_FCNTL_PERSIST_WAL`: keep the `-wal` file when this connection is the last to close.
    func setPersistentWAL(_ enabled: Bool) async throws
    /// Closes the connection. Safe to call twice.
    func close() async throws
}

/// Options for opening a connection.
public struct SQLiteOpenOptions: Sendable {
    public var readOnly: Bool
    /// Create the file if it does not exist.
    public var create: Bool
    /// Milliseconds SQLite waits on a lock before SQLITE_BUSY.
    public var busyTimeoutMilliseconds: Int32
    /// Whether closing the last connection to the database checkpoints the WAL into it (SQLite's
    /// default). The replicator turns it off: checkpoints are its own, and a checkpoint run by its
    /// close would change the database file after a clean stop recorded it (`StopRecord`).
    public var checkpointOnClose: Bool

    public init(
        readOnly: Bool = false, create: Bool = false, busyTimeoutMilliseconds: Int32 = 5000,
        checkpointOnClose: Bool = true
    ) {
        self.readOnly = readOnly
        self.create = create
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        self.checkpointOnClose = checkpointOnClose
    }
}

/// Opens connections; production binds the unix VFS, the simulator its own default VFS.
public protocol SQLiteOpener: Sendable {
    func open(_ path: String, options: SQLiteOpenOptions) async throws -> any SQLiteConnection
}

extension SQLiteConnection {
    /// Runs a statement without parameters and returns every row.
    public func query(_ sql: String) async throws -> [[SQLiteValue]] {
        try await query(sql, [])
    }

    /// The first column of the first row, as an integer.
    public func scalarInteger(_ sql: String) async throws -> Int64? {
        try await query(sql, []).first?.first?.integerValue
    }
}
