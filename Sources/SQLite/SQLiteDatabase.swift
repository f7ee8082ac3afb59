import CSQLite
import CShims
import Core
import Glibc

/// One SQLite connection over the C API, the production (and simulated) `SQLiteConnection`.
///
/// The connection is opened with `SQLITE_OPEN_FULLMUTEX`, because its calls arrive from whichever
/// pool thread the injected `BlockingRunner` picks, one at a time. Every call that may block
/// (I/O, lock waits, the busy handler) runs through that runner, so the cooperative pool never
/// waits on SQLite.
// @unchecked: `handle` and the statement cache are guarded by `lock`; calls run one at a time.
public final class SQLiteDatabase: SQLiteConnection, @unchecked Sendable {
    /// The path the connection was opened with, for error messages.
    public let path: String
    private let runner: any BlockingRunner
    // Guarded by `lock`: `close()` swaps it to nil so a second close (or a call after close)
    // never touches a freed handle.
    private var handle: OpaquePointer?
    private let lock = HandleLock()
    /// Prepared statements of `query`, by SQL text, each reset and unbound when put back; guarded
    /// by `lock`. A statement in use is out of the cache, so two calls never share one. Preparing
    /// cost about as much as running the simulator's one-row statements.
    private var statements: [StatementKey: OpaquePointer] = [:]
    /// Distinct texts kept prepared; past it a statement is finalized after its call.
    public static let statementCacheLimit = 32

    private init(path: String, handle: OpaquePointer, runner: any BlockingRunner) {
        self.path = path
        self.handle = handle
        self.runner = runner
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        if let handle { sqlite3_close_v2(handle) }
    }

    /// Opens `path` with the VFS named `vfsName` (nil: SQLite's default VFS, which the
    /// simulator replaces with its own).
    public static func open(
        _ path: String, options: SQLiteOpenOptions, vfsName: String? = nil, runner: any BlockingRunner
    ) async throws -> SQLiteDatabase {
        let handle = try await runner.run { () throws -> SendableHandle in
            try SendableHandle(openHandle(path, options: options, vfsName: vfsName))
        }
        return SQLiteDatabase(path: path, handle: handle.pointer, runner: runner)
    }

    private static func openHandle(_ path: String, options: SQLiteOpenOptions, vfsName: String?) throws -> OpaquePointer
    {
        var flags = SQLITE_OPEN_FULLMUTEX
        if options.readOnly {
            flags |= SQLITE_OPEN_READONLY
        } else {
            flags |= SQLITE_OPEN_READWRITE
            if options.create { flags |= SQLITE_OPEN_CREATE }
        }
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, vfsName)
        guard rc == SQLITE_OK, let db else {
            // Even a failed open usually returns a handle that carries the message; it must be closed.
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            let code = db.map { sqlite3_extended_errcode($0) } ?? rc
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: code, message: message, context: "open \(path)")
        }
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, options.busyTimeoutMilliseconds)
        if !options.checkpointOnClose {
            let rc = sluice_sqlite3_db_config_int(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nil)
            guard rc == SQLITE_OK else {
                sqlite3_close_v2(db)
                throw SQLiteError(
                    code: rc, message: String(cString: sqlite3_errstr(rc)), context: "no-checkpoint-on-close \(path)")
            }
        }
        return db
    }

    public func execute(_ sql: String) async throws {
        try await withHandle { db in
            var errorMessage: UnsafeMutablePointer<CChar>?
            let rc = sqlite3_exec(db, sql, nil, nil, &errorMessage)
            if rc != SQLITE_OK {
                let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
                sqlite3_free(errorMessage)
                throw SQLiteError(code: sqlite3_extended_errcode(db), message: message, context: Self.context(sql))
            }
        }
    }

    public func query(_ sql: String, _ parameters: [SQLiteValue]) async throws -> [[SQLiteValue]] {
        try await withHandle { db in
            let key = StatementKey(sql)
            var statement = self.lock.withLock { self.statements.removeValue(forKey: key) }
            var rc = SQLITE_OK
            if statement == nil {
                rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
                guard rc == SQLITE_OK else { throw Self.error(db, sql) }
            }
            // An empty or comment-only statement prepares to nil: it has no rows.
            guard let statement else { return [] }
            defer { self.putBack(statement, key: key) }

            let expected = Int(sqlite3_bind_parameter_count(statement))
            guard expected == parameters.count else {
                throw SQLiteError(
                    code: SQLITE_RANGE, message: "statement takes \(expected) parameters, \(parameters.count) given",
                    context: Self.context(sql))
            }
            for (offset, value) in parameters.enumerated() {
                rc = Self.bind(value, to: statement, at: Int32(offset + 1))
                guard rc == SQLITE_OK else { throw Self.error(db, sql) }
            }

            var rows: [[SQLiteValue]] = []
            while true {
                rc = sqlite3_step(statement)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else { throw Self.error(db, sql) }
                // Counted after the step: a kept statement re-prepared there after a schema
                // change (an added column under `SELECT *`) has its new count only now.
                let columns = sqlite3_column_count(statement)
                var row: [SQLiteValue] = []
                row.reserveCapacity(Int(columns))
                for column in 0..<columns {
                    row.append(Self.column(statement, column))
                }
                rows.append(row)
            }
            return rows
        }
    }

    public func checkpoint(_ mode: CheckpointMode) async throws -> CheckpointResult {
        try await withHandle { db in
            // A connection learns the journal mode only when it first reads the database header;
            // until then a checkpoint finds no WAL and reports -1 frames. Reading the schema
            // cookie outside a transaction opens (and if needed recovers) the WAL first.
            if sqlite3_get_autocommit(db) != 0 {
                _ = sqlite3_exec(db, "PRAGMA schema_version", nil, nil, nil)
            }
            var log: Int32 = 0
            var checkpointed: Int32 = 0
            let rc = sqlite3_wal_checkpoint_v2(db, "main", Self.sqliteMode(mode), &log, &checkpointed)
            // SQLITE_BUSY here is an outcome, not a failure: the checkpoint ran as far as readers
            // and writers allowed, exactly what `PRAGMA wal_checkpoint` reports as busy = 1.
            if rc & 0xFF == SQLITE_BUSY {
                return CheckpointResult(busy: true, walFrames: Int(log), checkpointedFrames: Int(checkpointed))
            }
            guard rc == SQLITE_OK else { throw Self.error(db, "checkpoint \(mode.rawValue)") }
            return CheckpointResult(busy: false, walFrames: Int(log), checkpointedFrames: Int(checkpointed))
        }
    }

    public func setPersistentWAL(_ enabled: Bool) async throws {
        try await withHandle { db in
            var value: Int32 = enabled ? 1 : 0
            let rc = sluice_sqlite3_file_control_int(db, "main", SQLITE_FCNTL_PERSIST_WAL, &value)
            guard rc == SQLITE_OK else {
                throw SQLiteError(
                    code: rc, message: String(cString: sqlite3_errstr(rc)), context: "persist-wal \(self.path)")
            }
        }
    }

    public func close() async throws {
        guard
            let (handle, cached) = lock.withLock({ () -> (OpaquePointer, [OpaquePointer])? in
                defer {
                    self.handle = nil
                    self.statements = [:]
                }
                return self.handle.map { ($0, Array(self.statements.values)) }
            })
        else { return }
        let sendable = SendableHandle(handle)
        let statements = cached.map(SendableHandle.init)
        try await runner.run {
            // close_v2 defers the real close until outstanding statements finish; the cached ones
            // are finalized here and the others before their call returns, so this closes now.
            for statement in statements { sqlite3_finalize(statement.pointer) }
            let rc = sqlite3_close_v2(sendable.pointer)
            guard rc == SQLITE_OK else {
                throw SQLiteError(code: rc, message: String(cString: sqlite3_errstr(rc)), context: "close")
            }
        }
    }

    // MARK: - Helpers

    /// Resets a statement after its call (ending its read, dropping bound copies) and keeps it
    /// for the next call of the same text, unless the connection closed meanwhile or the cache
    /// is full.
    private func putBack(_ statement: OpaquePointer, key: StatementKey) {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        let kept = lock.withLock { () -> Bool in
            guard handle != nil, statements.count < Self.statementCacheLimit, statements[key] == nil else {
                return false
            }
            statements[key] = statement
            return true
        }
        if !kept { sqlite3_finalize(statement) }
    }

    /// Runs `body` on the runner with the open handle; fails if the connection was closed.
    private func withHandle<T: Sendable>(_ body: @escaping @Sendable (OpaquePointer) throws -> T) async throws -> T {
        guard let handle = lock.withLock({ self.handle }) else {
            throw SQLiteError(code: SQLITE_MISUSE, message: "connection is closed", context: path)
        }
        let sendable = SendableHandle(handle)
        return try await runner.run { try body(sendable.pointer) }
    }

    private static func bind(_ value: SQLiteValue, to statement: OpaquePointer, at index: Int32) -> Int32 {
        switch value {
        case .null:
            return sqlite3_bind_null(statement, index)
        case .integer(let v):
            return sqlite3_bind_int64(statement, index, v)
        case .real(let v):
            return sqlite3_bind_double(statement, index, v)
        case .text(let v):
            return sqlite3_bind_text(statement, index, v, -1, sluice_sqlite3_transient())
        case .blob(let v):
            return v.withUnsafeBytes { bytes in
                // A nil pointer would bind NULL; an empty blob must stay a zero-length blob.
                if bytes.count == 0 { return sqlite3_bind_zeroblob(statement, index, 0) }
                return sqlite3_bind_blob64(
                    statement, index, bytes.baseAddress, sqlite3_uint64(bytes.count),
                    sluice_sqlite3_transient())
            }
        }
    }

    private static func column(_ statement: OpaquePointer, _ index: Int32) -> SQLiteValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(statement, index))
        case SQLITE_TEXT:
            guard let text = sqlite3_column_text(statement, index) else { return .text("") }
            let count = Int(sqlite3_column_bytes(statement, index))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            // The pointer must be fetched before the byte count (SQLite's documented order).
            let pointer = sqlite3_column_blob(statement, index)
            let count = Int(sqlite3_column_bytes(statement, index))
            guard let pointer, count > 0 else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: pointer, count: count)))
        default:
            return .null
        }
    }

    private static func sqliteMode(_ mode: CheckpointMode) -> Int32 {
        switch mode {
        case .passive: return SQLITE_CHECKPOINT_PASSIVE
        case .full: return SQLITE_CHECKPOINT_FULL
        case .restart: return SQLITE_CHECKPOINT_RESTART
        case .truncate: return SQLITE_CHECKPOINT_TRUNCATE
        }
    }

    private static func error(_ db: OpaquePointer, _ sql: String) -> SQLiteError {
        SQLiteError(
            code: sqlite3_extended_errcode(db), message: String(cString: sqlite3_errmsg(db)), context: context(sql))
    }

    /// The SQL as context for an error, cut to one readable line.
    static func context(_ sql: String) -> String {
        let oneLine = sql.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\t" })
            .map { $0.trimmingSpaces() }.filter { !$0.isEmpty }.joined(separator: " ")
        guard oneLine.count > 80 else { return oneLine }
        return String(oneLine.prefix(77)) + "..."
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        var slice = self[...]
        while slice.first == " " { slice = slice.dropFirst() }
        while slice.last == " " { slice = slice.dropLast() }
        return String(slice)
    }
}

/// SQL text as the statement cache's key, compared byte for byte as SQLite reads it. Swift's own
/// `String` equality is Unicode canonical equivalence: `'café'` spelt with a combined é and with
/// e plus an accent would share one prepared statement, and one of them return the other's rows.
///
/// Every `query` looks its text up here, so the key is cheap: equality is one `memcmp` of the
/// UTF-8 bytes, and the hash takes only the length and the first and last eight bytes (the
/// cache holds at most `statementCacheLimit` texts, so a rare collision costs one comparison).
private struct StatementKey: Hashable {
    let sql: String
    init(_ sql: String) {
        var sql = sql
        // Native strings keep their UTF-8 contiguous already; this only copies a bridged one.
        sql.makeContiguousUTF8()
        self.sql = sql
    }

    static func == (a: StatementKey, b: StatementKey) -> Bool {
        a.withBytes { left in
            b.withBytes { right in
                left.count == right.count
                    && (left.count == 0 || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0)
            }
        }
    }

    func hash(into hasher: inout Hasher) {
        withBytes { bytes in
            hasher.combine(bytes.count)
            guard bytes.count >= 8 else {
                hasher.combine(bytes: bytes)
                return
            }
            hasher.combine(bytes.loadUnaligned(as: UInt64.self))
            hasher.combine(bytes.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self))
        }
    }

    private func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var sql = sql
        return sql.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }
}

/// A raw connection pointer carried across the runner boundary. SQLite serialises use of it
/// itself (FULLMUTEX), and the connection's own contract is one call at a time.
// @unchecked: SQLite serialises use of the pointer itself (FULLMUTEX).
private struct SendableHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}
