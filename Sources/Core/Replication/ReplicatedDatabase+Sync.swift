/// The sync pass: observe the real WAL, copy its validated frames into the shadow, move to the
/// next index when the WAL restarts.
extension ReplicatedDatabase {
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

    func syncShadow() async throws {
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
}
