/// Checkpoints, which the replicator owns: when to run one, and running it with the WAL tail
/// copied under the write lock.
extension ReplicatedDatabase {
    func checkpointIfNeeded() async throws {
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
}
