import Logging

/// The replicator's side of one SQLite database: its connections and locks, the shadow WAL,
/// generations and checkpoints.
///
/// Three connections, each with one job:
/// - `reader` holds a read transaction at all times except inside `checkpoint`. While it holds a
///   read mark no other connection can restart the WAL or backfill past that mark, so the WAL is
///   append-only from the replicator's point of view.
/// - `writer` takes the write lock (`BEGIN IMMEDIATE`) around every moment the read lock is
///   swapped, so no frame can be appended, backfilled and overwritten while nobody watches.
/// - `checkpointer` runs checkpoints; a connection inside a transaction cannot.
///
/// The database file itself is opened once, by `databaseHandle`, and closed only at exit: on
/// systems without OFD locks, closing any descriptor of the file drops every POSIX lock the
/// process holds on it, SQLite's read lock included (Litestream a14a74d).
public actor ReplicatedDatabase {
    public nonisolated let state: LocalState
    let environment: Environment
    let options: ReplicationOptions
    var logger: Logger

    var databaseHandle: (any FileHandle)?
    var reader: (any SQLiteConnection)?
    var writer: (any SQLiteConnection)?
    var checkpointer: (any SQLiteConnection)?

    var readLockHeld = false
    var writeLockHeld = false
    /// True while the read lock has been held without a gap since the WAL was last copied under
    /// the write lock; only then can a WAL restart be proven harmless.
    var lockHeldSinceLastCopy = false

    public internal(set) var generation: Generation?
    var index: UInt64 = 0
    var shadow: ShadowWAL?
    /// The shadow position when the read lock was last taken: the database file cannot contain
    /// WAL content past it, so a snapshot is safe once replicas have uploaded this far.
    var readMarkPosition: Position?
    var forceNewGeneration: String?
    /// The newest generation a replica showed from another writer: new generations sort after it.
    var generationFloor: Generation?
    /// A checkpoint asked for by a replica (`requestCheckpoint`), for the next pass.
    var checkpointRequest: String?

    var snapshotsInProgress = 0
    /// True while `checkpoint` runs. Its awaits let a snapshot begin meanwhile (the actor is
    /// reentrant), and a snapshot must not read the database file while a checkpoint copies
    /// pages into it.
    var checkpointInProgress = false
    var lastWALGrowth: Timestamp
    /// The real WAL's size at the last observation; the checkpoint decision uses it instead of
    /// statting the file again right after a sync pass read it.
    var observedWALSize: Int64 = 0
    /// Bytes copied from the WAL into the shadow since this replicator started, for metrics.
    var copiedBytes: Int64 = 0
    /// Told of every checkpoint; nil unless someone watches (metrics).
    let events: (any ReplicationEvents)?
    /// The (generation, replica floor) the local shadow files were last cleaned for; cleaning
    /// lists two folders, so it runs only when that changes, not on every monitor tick.
    var cleanedFor: (generation: Generation, floor: UInt64)?
    var lastCheckpoint: Timestamp?
    /// Where the last checkpoint ran. Until the position moves there is nothing new to
    /// checkpoint: a complete checkpoint waits for the next writer to restart the WAL, and an
    /// incomplete one (readers holding old marks) is retried once new frames arrive.
    var lastCheckpointPosition: Position?

    public init(
        path: String, options: ReplicationOptions, environment: Environment, events: (any ReplicationEvents)? = nil
    ) {
        self.state = LocalState(databasePath: path, directory: options.stateDirectory)
        self.events = events
        self.options = options
        self.environment = environment
        self.logger = environment.logger
        self.logger[metadataKey: "db"] = "\(path)"
        self.lastWALGrowth = environment.wallClock.now()
    }

    // MARK: - Open and close

    /// Opens the database, converts it to WAL mode, takes the read lock and either continues the
    /// generation recorded in the local state or starts a new one.
    public func open() async throws {
        let fs = environment.fileSystem
        let path = state.databasePath
        try await validate()
        try await fs.createDirectory(state.directory)
        await removeTemporaryFiles(in: state.directory)

        reader = try await openConnection()
        let mode = try await reader!.query("PRAGMA journal_mode = wal").first?.first?.textValue ?? "?"
        guard mode.lowercased() == "wal" else {
            throw ReplicationError.walModeUnavailable(path: path, mode: mode)
        }
        writer = try await openConnection()
        checkpointer = try await openConnection()

        let stop = try await proveUnchangedSinceStop()
        try await decideGeneration(unchangedSince: stop)
        await forgetStop()
    }

    /// Continues or starts a generation under the write lock, waiting for it while an application
    /// transaction holds it. Giving up at once left the start undecided, and the first sync pass
    /// then began a new generation, with a full snapshot, although the shadow continued fine.
    private func decideGeneration(unchangedSince stop: StopRecord?) async throws {
        for attempt in 1...Self.startLockAttempts {
            if try await withWriteLock({ try await self.resumeOrStartGeneration(unchangedSince: stop) }) != nil {
                return
            }
            try await environment.clock.sleep(for: .milliseconds(50 * Int64(attempt)))
        }
        throw ReplicationError.sqlite(
            path: state.databasePath,
            message:
                "an application kept the write lock through \(Self.startLockAttempts) attempts to take it; trying the start again"
        )
    }

    /// Attempts at the write lock for the start's decision (about 1.4 s of waits, on top of each
    /// attempt's busy timeout).
    static let startLockAttempts = 8

    /// Checks that the database exists and is a SQLite file, and opens the long-lived handle,
    /// without changing anything: no connection, no lock, no local state. The replicator runs it
    /// before taking its leases, so a bad path fails with one clear error and leaves the replica
    /// untouched; `open()` runs it too when it has not run.
    public func validate() async throws {
        guard databaseHandle == nil else { return }
        let fs = environment.fileSystem
        let path = state.databasePath
        guard let stat = try await fs.stat(path), !stat.isDirectory else {
            throw ReplicationError.databaseNotFound(path: path)
        }
        let handle = try await fs.open(path, mode: .readOnly)
        databaseHandle = handle
        if stat.size > 0 {
            let magic = try await handle.read(at: 0, count: 16)
            guard magic == Array("SQLite format 3\u{0}".utf8) else {
                throw ReplicationError.notADatabase(path: path)
            }
        }
    }

    /// Ends every transaction and closes the connections and the database handle.
    public func close() async {
        try? await releaseReadLock()
        try? await writer?.execute("ROLLBACK")
        for connection in [reader, writer, checkpointer] {
            try? await connection?.close()
        }
        reader = nil
        writer = nil
        checkpointer = nil
        await shadow?.close()
        shadow = nil
        try? await databaseHandle?.close()
        databaseHandle = nil
    }

    private func openConnection() async throws -> any SQLiteConnection {
        let busy = Int32(clamping: options.busyTimeout.milliseconds)
        do {
            let connection = try await environment.sqlite.open(
                state.databasePath, options: SQLiteOpenOptions(busyTimeoutMilliseconds: busy, checkpointOnClose: false))
            // Keep the -wal file when the replicator's connection is the last to close, and never
            // let SQLite checkpoint on the replicator's behalf: checkpoints are ours.
            try await connection.setPersistentWAL(true)
            try await connection.execute("PRAGMA wal_autocheckpoint = 0")
            return connection
        } catch let error as SQLiteError where error.isNotADatabase {
            throw ReplicationError.notADatabase(path: state.databasePath)
        } catch let error as SQLiteError {
            throw ReplicationError.sqlite(path: state.databasePath, message: error.description)
        }
    }

    /// Removes the `*.tmp` leftovers of a crash below `directory`. Best effort: a leftover that
    /// cannot be removed now is removed at a later start, and an I/O error here used to end the
    /// start (with a stat of every shadow file on the way, at one I/O error in twenty calls the
    /// replicator of default seed 256 failed thirty starts in a row). Shadow files are known
    /// not to be directories and are not looked at.
    private func removeTemporaryFiles(in directory: String) async {
        let fs = environment.fileSystem
        for name in (try? await fs.list(directory)) ?? [] {
            let path = Path.join(directory, name)
            if name.hasSuffix(".tmp") {
                try? await fs.remove(path)
            } else if LocalState.parseShadowName(name) == nil, let stat = try? await fs.stat(path), stat.isDirectory {
                await removeTemporaryFiles(in: path)
            }
        }
    }

    // MARK: - Locks

    func acquireReadLock() async throws {
        guard !readLockHeld, let reader else { return }
        try await reader.execute("BEGIN")
        do {
            _ = try await reader.query("SELECT count(*) FROM sqlite_master")
        } catch {
            try? await reader.execute("ROLLBACK")
            throw error
        }
        readLockHeld = true
        readMarkPosition = position
    }

    func releaseReadLock() async throws {
        guard readLockHeld, let reader else { return }
        readLockHeld = false
        lockHeldSinceLastCopy = false
        try await reader.execute("ROLLBACK")
    }

    /// Runs `body` holding SQLite's write lock on the `writer` connection, so no application
    /// transaction can commit meanwhile. Returns nil without running `body` if the lock could not
    /// be had within the busy timeout.
    @discardableResult
    func withWriteLock<T>(_ body: () async throws -> T) async throws -> T? {
        guard let writer else { return nil }
        if writeLockHeld { return try await body() }
        do {
            try await writer.execute("BEGIN IMMEDIATE")
        } catch let error as SQLiteError where error.isBusy {
            logger.debug("write lock busy; will retry", metadata: ["error": "\(error)"])
            return nil
        }
        writeLockHeld = true
        defer { writeLockHeld = false }
        do {
            let result = try await body()
            try await writer.execute("ROLLBACK")
            return result
        } catch {
            try? await writer.execute("ROLLBACK")
            throw error
        }
    }

    // MARK: - Generations

    /// The replication position: everything up to here is in the shadow WAL.
    public var position: Position? {
        guard let generation else { return nil }
        return Position(generation: generation, index: index, offset: UInt64(shadow?.size ?? 0))
    }
}
