/// A clean stop that the next start can check against (`StopRecord`): a restart of an idle
/// database, or of one whose app emptied or restarted the WAL meanwhile without writing to the
/// database file, continues its generation instead of uploading a new snapshot of the whole file.
extension ReplicatedDatabase {
    /// Stops replication of this database: checkpoints, records the stop when the checkpoint was
    /// complete, and closes. For the end of a run only; a start that fails closes with `close()`.
    public func stop() async {
        await recordStop()
        await close()
    }

    /// Checkpoints PASSIVE under the write lock (copying the WAL's tail first) and, if every
    /// frame was backfilled, writes a `StopRecord` of the database file as it now stands. Tried
    /// a few times, a little apart: the app may hold the write lock or an older snapshot for a
    /// moment, and the disk may fail a call. Best effort: without a record the next start
    /// decides from the WAL alone, as before.
    private func recordStop() async {
        guard generation != nil, databaseHandle != nil else { return }
        for attempt in 1...Self.stopAttempts {
            do {
                if try await recordStopOnce() { return }
            } catch {
                logger.debug("recording the stop failed", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
            }
            if attempt < Self.stopAttempts {
                try? await environment.clock.sleep(for: .milliseconds(50 * Int64(attempt)))
            }
        }
        logger.warning(
            "stop not recorded (the app kept the database busy, or the disk failed); the next start decides from the WAL alone"
        )
    }

    /// Attempts at recording a stop (about half a second in all).
    static let stopAttempts = 5

    /// One attempt of `recordStop`; false when the checkpoint could not run or was incomplete.
    ///
    /// The digest is taken after the write lock is released, holding only the read lock the
    /// checkpoint took again: with the WAL fully backfilled that lock sits on read mark 0, which
    /// bars every backfill, so the file cannot change under the digest while the app goes on
    /// committing (its commits restart the WAL, and the next start copies them as a new index).
    private func recordStopOnce() async throws -> Bool {
        guard let handle = databaseHandle,
            try await checkpoint(.passive(reason: "stopping")), readLockHeld, let position = lastCheckpointPosition
        else { return false }
        let size = try await handle.size()
        guard let digest = try await StopRecord.digest(of: handle, size: size, chunkSize: options.chunkSize) else {
            return false
        }
        try await StopRecord(position: position, databaseSize: size, databaseDigest: digest)
            .write(state: state, fileSystem: environment.fileSystem)
        logger.info("stop recorded", metadata: ["position": "\(position)", "db.size": "\(size)"])
        return true
    }

    /// The last clean stop's record, if the database file is still exactly as that stop left it
    /// and the local shadow still at its position. Holds the read lock on return when it returns
    /// a record: the file then cannot have changed between the digest and the decision the
    /// caller makes under the write lock, or if a checkpoint backfilled frames into it meanwhile,
    /// those frames are still in the WAL (a read mark above 0 bars restarting it).
    ///
    /// Reading the whole file costs a local read of the database at starts after a clean stop,
    /// against a snapshot upload of it for every such start before.
    func proveUnchangedSinceStop() async throws -> StopRecord? {
        let fs = environment.fileSystem
        guard let record = try await StopRecord.read(state: state, fileSystem: fs), let handle = databaseHandle,
            try await shadowStands(at: record.position),
            try await handle.size() == record.databaseSize
        else { return nil }
        try await acquireReadLock()
        guard
            try await StopRecord.digest(of: handle, size: record.databaseSize, chunkSize: options.chunkSize)
                == record.databaseDigest
        else {
            try await releaseReadLock()
            logger.info(
                "the database changed since the last clean stop", metadata: ["stopped.at": "\(record.position)"])
            return nil
        }
        return record
    }

    /// Whether the generation file names `position`'s generation and its latest shadow index ends
    /// at `position` (a generation without a shadow stands at index 0, offset 0).
    private func shadowStands(at position: Position) async throws -> Bool {
        let fs = environment.fileSystem
        let generationFile = state.generationFile
        guard let text = try await FileSystemError.nilIfNotFound({ try await fs.readAll(generationFile) }),
            Generation(String(decoding: text, as: UTF8.self).trimmingWhitespace()) == position.generation
        else { return false }
        guard let latest = try await shadowIndexes(of: position.generation).last else {
            return position.index == 0 && position.offset == 0
        }
        guard latest == position.index else { return false }
        return try await fs.stat(state.shadowPath(position.generation, index: latest))?.size == Int64(position.offset)
    }

    /// Removes the stop record once a start has decided: it describes the stop before this run,
    /// and this run may end without a clean stop. Best effort, as a stale record is harmless: it
    /// names a position the shadow has moved past, or a database file that has changed since.
    func forgetStop() async {
        try? await StopRecord.remove(state: state, fileSystem: environment.fileSystem)
    }
}
