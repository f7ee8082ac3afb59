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
    private var writeLockHeld = false
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

    private var snapshotsInProgress = 0
    /// True while `checkpoint` runs. Its awaits let a snapshot begin meanwhile (the actor is
    /// reentrant), and a snapshot must not read the database file while a checkpoint copies
    /// pages into it.
    private var checkpointInProgress = false
    private var lastWALGrowth: Timestamp
    /// The real WAL's size at the last observation; the checkpoint decision uses it instead of
    /// statting the file again right after a sync pass read it.
    private var observedWALSize: Int64 = 0
    /// Bytes copied from the WAL into the shadow since this replicator started, for metrics.
    private var copiedBytes: Int64 = 0
    /// Told of every checkpoint; nil unless someone watches (metrics).
    private let events: (any ReplicationEvents)?
    /// The (generation, replica floor) the local shadow files were last cleaned for; cleaning
    /// lists two folders, so it runs only when that changes, not on every monitor tick.
    private var cleanedFor: (generation: Generation, floor: UInt64)?
    private var lastCheckpoint: Timestamp?
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

    // MARK: - Sync

    struct Observation {
        var wal: WALObservation
        var handle: (any FileHandle)?
    }

    /// Looks at the real WAL: its header, size and the frame at the shadow's last-frame offset.
    /// The caller must close `handle`. (The -wal file carries no SQLite locks, so opening and
    /// closing it is safe, unlike the database file.)
    func observeWAL() async throws -> Observation {
        let fs = environment.fileSystem
        let handle: any FileHandle
        do {
            handle = try await fs.open(state.walPath, mode: .readOnly)
        } catch FileSystemError.notFound {
            observedWALSize = 0
            return Observation(wal: WALObservation(header: nil, size: 0, frameAtShadowEnd: nil), handle: nil)
        }
        do {
            let size = try await handle.size()
            observedWALSize = size
            var frame: [UInt8]?
            if let shadow, shadow.lastFrame != nil {
                let frameSize = shadow.header.frameSize
                frame = try await handle.read(at: shadow.size - Int64(frameSize), count: frameSize)
            }
            // The header is read after the frame: the WAL may restart between two reads (an app
            // writer, once everything was copied under the write lock), and a frame read after
            // the restart beside a header read before it looked like a rewritten frame of the
            // same lifetime, a needless new generation (sluice sim, default seed 323). Read in
            // this order, a frame of the new lifetime always comes with its header.
            let header =
                size >= Int64(WALFormat.headerSize)
                ? WALHeader(try await handle.read(at: 0, count: WALFormat.headerSize)) : nil
            return Observation(wal: WALObservation(header: header, size: size, frameAtShadowEnd: frame), handle: handle)
        } catch {
            try? await handle.close()
            throw error
        }
    }

    private func copyFrames(_ observation: Observation) async throws {
        guard let handle = observation.handle else { return }
        do {
            if let shadow {
                let copied = try await shadow.copy(
                    from: handle, walSize: observation.wal.size, chunkSize: options.chunkSize)
                if copied > 0 { lastWALGrowth = environment.wallClock.now() }
                copiedBytes += Int64(copied)
            }
            try? await handle.close()
        } catch {
            try? await handle.close()
            throw error
        }
    }

    /// `copyFrames` for the copy that takes the read lock's place at start-up and at a new
    /// generation: everything the WAL holds, under the write lock. It is retried at once after a
    /// failure for as long as the retries copy something (`fruitlessRetryLimit`), each going on
    /// from what the failed pass kept. One I/O error in it used to end the replicator's start;
    /// the next start, after the WAL had grown meanwhile, had more to copy and so less chance to
    /// get through, and each one left a new generation's directory behind: at one I/O error in a
    /// hundred calls the replicator never started again and the WAL grew to 132 MB (found by
    /// sluice sim, default seed 278, by recording every seed's largest WAL).
    func copyBacklog(_ first: Observation) async throws {
        var observation: Observation? = first
        try await ProgressRetry.run(
            fruitlessLimit: Self.fruitlessRetryLimit, progress: { shadowProgress },
            onRetry: { error, retries in
                logger.debug(
                    "start-up copy failed; retrying at once", metadata: ["error": "\(error)", "retry": "\(retries)"])
            }
        ) {
            let current: Observation
            if let observation { current = observation } else { current = try await observeWAL() }
            observation = nil
            try await copyFrames(current)
        }
    }

    /// How far the shadow has got, for `ProgressRetry`. Frames of a transaction not yet
    /// committed count: a VACUUM's is longer than a pass copies between errors, and counting only
    /// commits ended the retries while each pass was still getting further into it (found by
    /// sluice sim, default seed 20: one I/O error in twenty calls, a VACUUM every second or two,
    /// and the WAL grew to 53 MB with the shadow stuck in one transaction after another).
    private struct ShadowProgress: Equatable {
        var position: Position?
        var copiedEnd: Int64?
    }

    private var shadowProgress: ShadowProgress { ShadowProgress(position: position, copiedEnd: shadow?.copiedEnd) }

    /// The result of one sync pass.
    public struct SyncResult: Sendable, Equatable {
        /// The position moved (new frames, a new index or a new generation).
        public var advanced: Bool
        public var position: Position?
    }

    /// A pass's report for `ReplicationEvents`, from what the pass already knows (no I/O).
    func syncReport(duration: Duration, failed: Bool) -> DatabaseSyncReport {
        DatabaseSyncReport(
            position: position, walSize: observedWALSize, copiedBytes: copiedBytes, duration: duration, failed: failed)
    }

    /// Copies new committed frames into the shadow WAL, following WAL restarts and starting a
    /// new generation when continuity is lost; then checkpoints if the policy says so.
    @discardableResult
    public func sync() async throws -> SyncResult {
        let before = position
        try await syncShadowRetrying()
        try await checkpointIfNeeded()
        let after = position
        return SyncResult(advanced: before != after, position: after)
    }

    /// Copies into the shadow, retrying a failed pass at once while the retries keep copying (up
    /// to `quickRetryLimit`, until `fruitlessRetryLimit` in a row copy nothing, committed or
    /// not). A pass keeps what it copied, and the run of retries ends with one that gets
    /// through, so the caller can then checkpoint. Waiting a whole monitor interval after each error let intermittent I/O errors
    /// hold the shadow behind a WAL that grew faster than one pass per interval copied, and that
    /// the read lock kept from restarting (found by sluice sim, default seed 997: one error in a
    /// hundred I/O calls left 100 MB behind, and every application checkpoint sorted all of it).
    /// Only the copy is retried: errors of a checkpoint or a clean-up wait for the next interval.
    private func syncShadowRetrying() async throws {
        try await ProgressRetry.run(
            fruitlessLimit: Self.fruitlessRetryLimit, limit: Self.quickRetryLimit,
            progress: { shadowProgress },
            onRetry: { error, retries in
                logger.debug(
                    "shadow pass failed; retrying at once", metadata: ["error": "\(error)", "retry": "\(retries)"])
            }
        ) {
            try await syncShadow()
        }
    }

    /// Failed shadow passes retried without waiting, per sync.
    static let quickRetryLimit = 64
    /// Failed passes in a row that copied nothing, after which the error goes to the caller.
    static let fruitlessRetryLimit = 8

    private func syncShadow() async throws {
        guard generation != nil else {
            try await withWriteLock { try await self.startGeneration(reason: "no generation exists") }
            return
        }
        if let reason = forceNewGeneration {
            try await withWriteLock { try await self.startGeneration(reason: reason) }
            return
        }
        let observation = try await observeWAL()
        guard let shadow else {
            // A generation whose WAL had no header yet: its first index starts with whatever
            // header appears, since the read lock kept anything from being checkpointed.
            if let header = observation.wal.header, lockHeldSinceLastCopy {
                self.shadow = try await ShadowWAL.create(
                    path: state.shadowPath(generation!, index: index), header: header,
                    fileSystem: environment.fileSystem)
                try await copyFrames(observation)
            } else {
                if let handle = observation.handle { try? await handle.close() }
                if observation.wal.header != nil {
                    try await withWriteLock {
                        try await self.startGeneration(reason: "WAL appeared while the read lock was not held")
                    }
                }
            }
            return
        }
        switch Continuity.decide(
            shadow: shadowState(shadow), wal: observation.wal, lockHeldSinceLastCopy: lockHeldSinceLastCopy)
        {
        case .append:
            try await copyFrames(observation)
        case .idle:
            if let handle = observation.handle { try? await handle.close() }
        case .nextIndex(let header):
            try await moveToNextIndex(header, closing: shadow)
            try await copyFrames(observation)
        case .newGeneration(let reason):
            if let handle = observation.handle { try? await handle.close() }
            try await withWriteLock { try await self.startGeneration(reason: reason) }
        }
    }

    /// Starts the next WAL index with `header`. The index moves only once its shadow exists: if
    /// creating it fails (ENOSPC, EIO), the next pass must decide `.nextIndex` from the same old
    /// shadow and retry the same index; advancing first made the retry skip it, so that index
    /// never had a shadow and every replica waited for it forever (found by sluice sim, default
    /// seed 36).
    func moveToNextIndex(_ header: WALHeader, closing old: ShadowWAL) async throws {
        let next = index + 1
        let created = try await ShadowWAL.create(
            path: state.shadowPath(generation!, index: next), header: header,
            fileSystem: environment.fileSystem)
        await old.close()
        index = next
        shadow = created
        logger.debug("WAL restarted; next index", metadata: ["index": "\(index)"])
    }

    // MARK: - Checkpoints

    private func checkpointIfNeeded() async throws {
        guard let shadow, snapshotsInProgress == 0 else { return }
        if let last = lastCheckpointPosition, last == position {
            // Nothing was added since: a request adds nothing either.
            checkpointRequest = nil
            return
        }
        let now = environment.wallClock.now()
        let walSize = observedWALSize
        let walFrames =
            walSize < Int64(WALFormat.headerSize)
            ? 0
            : Int(
                (WALFormat.alignToFrame(walSize, pageSize: shadow.header.pageSize) - Int64(WALFormat.headerSize))
                    / Int64(shadow.header.frameSize))
        let decision =
            options.checkpoint.decide(
                CheckpointState(
                    walFrames: walFrames,
                    shadowFrames: shadow.frameCount,
                    sinceLastNewFrames: now - lastWALGrowth,
                    sinceLastCheckpoint: lastCheckpoint.map { now - $0 }))
            ?? checkpointRequest.map { .passive(reason: $0) }
        guard let decision else { return }
        checkpointRequest = nil
        try await checkpoint(decision)
    }

    /// Asks the next shadow pass to checkpoint (PASSIVE) even below the thresholds. The pass
    /// runs it in its own flow: a checkpoint run from another task interleaved its shadow copy
    /// with the pass's, which then judged a stale look at the WAL against a shadow that had
    /// moved to the next index, and started a needless generation (sluice sim, default seed 433).
    public func requestCheckpoint(reason: String) {
        checkpointRequest = reason
    }

    /// Checkpoints under the replicator's control.
    ///
    /// 1. Take the write lock; copy the WAL's tail into the shadow. Nothing can commit now.
    /// 2. Release the read lock and checkpoint PASSIVE from the third connection. An emergency
    ///    checkpoint repeats PASSIVE until every frame is backfilled, within `writeLockBudget`.
    /// 3. Take the read lock again *before* releasing the write lock. If the checkpoint was
    ///    complete, the next writer restarts the WAL, and every frame of the old index is
    ///    already in the shadow.
    /// 4. Emergency only, to give the disk space back: TRUNCATE while the read lock is held.
    ///    SQLite lets it restart and truncate the WAL only if nothing was added since step 3
    ///    (our read mark blocks backfilling anything newer), so it cannot discard an uncopied
    ///    frame; otherwise it reports busy and the WAL is simply reused from the start.
    ///
    /// Returns whether the PASSIVE step backfilled every frame (the database file then holds
    /// the state at the position the checkpoint ran at).
    @discardableResult
    public func checkpoint(_ decision: CheckpointDecision) async throws -> Bool {
        guard snapshotsInProgress == 0, !checkpointInProgress, let checkpointer else { return false }
        checkpointInProgress = true
        defer { checkpointInProgress = false }
        guard let events else { return try await checkpoint(decision, checkpointer: checkpointer) ?? false }
        let stopwatch = Stopwatch(environment.clock)
        let mode: String
        switch decision {
        case .passive: mode = "PASSIVE"
        case .truncate: mode = "TRUNCATE"
        }
        do {
            let complete = try await checkpoint(decision, checkpointer: checkpointer)
            // A checkpoint that could not take the write lock did not run: nothing to count.
            if complete != nil {
                events.checkpointed(CheckpointReport(mode: mode, duration: stopwatch.elapsed(), failed: false))
            }
            return complete ?? false
        } catch {
            events.checkpointed(CheckpointReport(mode: mode, duration: stopwatch.elapsed(), failed: true))
            throw error
        }
    }

    /// `checkpoint(_:)` itself; nil when it could not take the write lock and so did not run.
    private func checkpoint(_ decision: CheckpointDecision, checkpointer: any SQLiteConnection) async throws -> Bool? {
        let emergency: Bool
        switch decision {
        case .passive(let reason):
            emergency = false
            logger.debug("checkpoint", metadata: ["mode": "PASSIVE", "reason": "\(reason)"])
        case .truncate(let reason):
            emergency = true
            logger.warning("emergency checkpoint", metadata: ["mode": "TRUNCATE", "reason": "\(reason)"])
        }
        var complete = false
        let ran = try await withWriteLock { () async throws -> Bool in
            try await self.syncShadow()
            try await self.releaseReadLock()
            do {
                var result = try await checkpointer.checkpoint(.passive)
                if emergency {
                    let deadline = self.environment.wallClock.now() + self.options.writeLockBudget
                    while result.busy || result.checkpointedFrames < result.walFrames,
                        self.environment.wallClock.now() < deadline
                    {
                        try await self.environment.clock.sleep(for: .milliseconds(20))
                        result = try await checkpointer.checkpoint(.passive)
                    }
                }
                complete = !result.busy && result.checkpointedFrames == result.walFrames
                self.logger.debug(
                    "checkpoint result",
                    metadata: [
                        "busy": "\(result.busy)", "wal.frames": "\(result.walFrames)",
                        "checkpointed": "\(result.checkpointedFrames)",
                    ])
            } catch {
                try await self.acquireReadLock()
                self.lockHeldSinceLastCopy = true
                throw error
            }
            try await self.acquireReadLock()
            self.lockHeldSinceLastCopy = true
            return true
        }
        guard ran == true else { return nil }
        lastCheckpoint = environment.wallClock.now()
        lastCheckpointPosition = position
        if emergency && complete {
            let result = try await checkpointer.checkpoint(.truncate)
            logger.info(
                "TRUNCATE checkpoint",
                metadata: [
                    "busy": "\(result.busy)", "wal.frames": "\(result.walFrames)",
                    "checkpointed": "\(result.checkpointedFrames)",
                ])
        }
        return complete
    }

    // MARK: - Snapshots

    /// What a snapshot needs: the database file handle, the index the file is consistent with,
    /// and the position replicas must have uploaded before the snapshot is written.
    public struct SnapshotLease: Sendable {
        public var generation: Generation
        public var index: UInt64
        public var handle: any FileHandle
        public var size: Int64
        public var requiredUpload: Position
    }

    /// Pins the database for a snapshot: no replicator checkpoint runs until `endSnapshot`, so
    /// the file can hold nothing past the read mark. Returns nil if there is no generation yet.
    public func beginSnapshot() async throws -> SnapshotLease? {
        // A checkpoint only bars snapshots when it starts; one already running (an emergency
        // checkpoint retries PASSIVE across awaits, then TRUNCATEs) copies pages into the file
        // this snapshot would read, and may restart the WAL under its index label, so the
        // snapshot was torn (found by sluice sim, no-faults seed 42, span 30 s). Wait it out.
        while checkpointInProgress { try await environment.clock.sleep(for: .milliseconds(10)) }
        guard let generation, let handle = databaseHandle, let mark = readMarkPosition ?? position,
            mark.generation == generation
        else { return nil }
        snapshotsInProgress += 1
        do {
            let size = try await handle.size()
            return SnapshotLease(generation: generation, index: index, handle: handle, size: size, requiredUpload: mark)
        } catch {
            snapshotsInProgress -= 1
            throw error
        }
    }

    public func endSnapshot() {
        snapshotsInProgress -= 1
    }

    // MARK: - Shadow files for replicas

    /// How much of one shadow index is committed, and whether a later index exists (so the
    /// index is final).
    public struct ShadowExtent: Sendable, Equatable {
        public var size: Int64
        public var isFinal: Bool
    }

    /// The extent of a shadow index, or nil if the file no longer exists locally.
    public func shadowExtent(generation: Generation, index: UInt64) async throws -> ShadowExtent? {
        if generation == self.generation, index == self.index {
            return ShadowExtent(size: shadow?.size ?? 0, isFinal: false)
        }
        guard let stat = try await environment.fileSystem.stat(state.shadowPath(generation, index: index)) else {
            return nil
        }
        // Earlier indexes and other generations are final: their size is their committed end.
        return ShadowExtent(size: stat.size, isFinal: true)
    }

    /// Deletes local shadow files every replica has uploaded: indexes below `uploaded.index` in
    /// the current generation, and other generations once no replica still needs them.
    public func removeUploadedShadows(uploaded: [Position?]) async throws {
        guard let generation else { return }
        let fs = environment.fileSystem
        let known = uploaded.compactMap { $0 }
        guard known.count == uploaded.count, !known.isEmpty else { return }
        let current = known.filter { $0.generation == generation }
        if current.count == known.count, let floor = current.map(\.index).min() {
            if let cleaned = cleanedFor, cleaned.generation == generation, cleaned.floor == floor { return }
            // One index below the floor is kept: a replica that re-derives its position from its
            // listing after an error finds it at the end of that index, and continues from there
            // instead of taking a snapshot.
            for oldIndex in try await shadowIndexes(of: generation) where oldIndex + 1 < floor && oldIndex < index {
                try await fs.remove(state.shadowPath(generation, index: oldIndex))
            }
            for name in (try? await fs.list(state.generationsDirectory)) ?? [] where name != generation.description {
                try await fs.removeTree(Path.join(state.generationsDirectory, name))
            }
            cleanedFor = (generation, floor)
        }
    }

    /// Records the replica locations, so `sluice restore DB_PATH` knows where to look.
    public func recordReplicas(_ locations: [String]) async throws {
        let text = locations.joined(separator: "\n") + "\n"
        try await environment.fileSystem.writeAtomically(Array(text.utf8), to: state.replicasFile)
    }

    /// Requests a new generation at the next sync (a replica found history it cannot continue).
    /// - Parameter after: a generation the new one must sort after (one another replicator wrote
    ///   to a replica), whatever this machine's clock says.
    public func requestNewGeneration(reason: String, after: Generation? = nil) {
        forceNewGeneration = reason
        if let after, generationFloor.map({ $0 < after }) ?? true { generationFloor = after }
    }
}
