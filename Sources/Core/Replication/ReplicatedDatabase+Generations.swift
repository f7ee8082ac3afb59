/// Generations: continuing the recorded one at start-up when its continuity can be proven, and
/// starting a new one (with a snapshot to follow) when it cannot.
extension ReplicatedDatabase {
    /// Called under the write lock at start-up: continue the recorded generation if the WAL
    /// provably continues the shadow, else start a new one.
    ///
    /// - Parameter stop: The last clean stop's record, when `proveUnchangedSinceStop` found the
    ///   database file as that stop left it while holding the read lock it still holds. The
    ///   shadow at the record's position then holds every commit the database file does, and the
    ///   WAL found now holds every commit since: it continues the generation even when it was
    ///   emptied, deleted or restarted meanwhile.
    func resumeOrStartGeneration(unchangedSince stop: StopRecord?) async throws {
        let fs = environment.fileSystem
        // Only a generation file or shadow directory that does not exist means there is no
        // generation to continue. An I/O error reading them is thrown (the start is tried again):
        // taken as "none", it started a new generation, with a full snapshot, for one failed read
        // (found by sluice sim, default seed 256, at one I/O error in twenty calls).
        let generationFile = state.generationFile
        guard let text = try await FileSystemError.nilIfNotFound({ try await fs.readAll(generationFile) }),
            let recorded = Generation(String(decoding: text, as: UTF8.self).trimmingWhitespace())
        else {
            try await startGeneration(reason: "no generation exists")
            return
        }
        guard let latestIndex = try await shadowIndexes(of: recorded).last else {
            // A generation begun on an empty WAL has no shadow until a WAL header appears: only a
            // clean stop at its very start proves the database is still the one its snapshot holds.
            guard let stop, stop.position == Position(generation: recorded, index: 0, offset: 0) else {
                try await startGeneration(
                    reason: "generation \(recorded) has no shadow WAL and no clean stop proves the database unchanged")
                return
            }
            try await continueWithoutShadow(recorded)
            return
        }
        do {
            let existing = try await ShadowWAL.open(
                path: state.shadowPath(recorded, index: latestIndex), fileSystem: fs,
                chunkSize: options.chunkSize)
            generation = recorded
            index = latestIndex
            shadow = existing
            try await resume(existing, unchangedSince: stop)
        } catch let error as ReplicationError {
            logger.warning("local shadow WAL unusable", metadata: ["error": "\(error)"])
            try await startGeneration(reason: "the local shadow WAL of generation \(recorded) is unusable")
        }
    }

    /// Continues the generation whose latest shadow is `existing`, or starts a new one.
    private func resume(_ existing: ShadowWAL, unchangedSince stop: StopRecord?) async throws {
        let observation = try await observeWAL()
        var decision = Continuity.decide(
            shadow: shadowState(existing), wal: observation.wal, lockHeldSinceLastCopy: false)
        switch decision {
        case .append, .idle: break
        case .nextIndex, .newGeneration:
            // The WAL alone cannot show that nothing was lost; a clean stop at this very
            // position, with the database file as it left it, can.
            if let stop, stop.position == position {
                decision = Continuity.decide(
                    shadow: shadowState(existing), wal: observation.wal, lockHeldSinceLastCopy: true)
            }
        }
        switch decision {
        case .append:
            guard try await walStillHolds(existing, handle: observation.handle) else {
                if let handle = observation.handle { try? await handle.close() }
                try await startGeneration(
                    reason: "the WAL no longer holds every frame the shadow copied (torn by a power loss?)")
                return
            }
            try await copyBacklog(observation)
        case .idle:
            if let handle = observation.handle { try? await handle.close() }
        case .nextIndex(let header):
            try await moveToNextIndex(header, closing: existing)
            try await copyBacklog(observation)
        case .newGeneration(let reason):
            if let handle = observation.handle { try? await handle.close() }
            try await startGeneration(reason: reason)
            return
        }
        try await retakeReadLock()
        logger.info("continuing generation", metadata: ["generation": "\(generation!)", "position": "\(position!)"])
        environment.generationObserver?(.continued(generation!))
    }

    /// Continues `recorded`, a generation without a shadow index, as a clean stop proved it:
    /// whatever WAL there is now was written since, so it becomes the generation's index 0.
    private func continueWithoutShadow(_ recorded: Generation) async throws {
        generation = recorded
        index = 0
        let observation = try await observeWAL()
        if let header = observation.wal.header {
            shadow = try await ShadowWAL.create(
                path: state.shadowPath(recorded, index: 0), header: header,
                fileSystem: environment.fileSystem)
            try await copyBacklog(observation)
        } else if let handle = observation.handle {
            try? await handle.close()
        }
        try await retakeReadLock()
        logger.info("continuing generation", metadata: ["generation": "\(recorded)", "position": "\(position!)"])
        environment.generationObserver?(.continued(recorded))
    }

    /// Takes the read lock afresh under the write lock, so that its mark is the position just
    /// copied (a proof of an unchanged database held an older one).
    private func retakeReadLock() async throws {
        try await releaseReadLock()
        try await acquireReadLock()
        lockHeldSinceLastCopy = true
    }

    /// Whether the real WAL still holds, byte for byte, everything the shadow copied.
    ///
    /// At start-up Continuity only compares the header, the size and the last copied frame. That
    /// is enough after a process crash (the page cache keeps every write), but not after a power
    /// loss: with `synchronous = NORMAL` SQLite does not fsync the WAL at commit, so the disk can
    /// keep the last copied frame while losing a sector of an earlier one. SQLite's recovery then
    /// stops at the torn frame, the source forgets the commits after it and the app writes new
    /// ones over them, while the replica, continuing the generation, keeps the forgotten history
    /// and later appends the new one to it. Found by the simulator (Scenario 7, crash sweep).
    /// Comparing the whole prefix costs one read of the WAL per start-up.
    private func walStillHolds(_ shadow: ShadowWAL, handle: (any FileHandle)?) async throws -> Bool {
        guard let handle else { return shadow.size <= Int64(WALFormat.headerSize) }
        var offset: Int64 = 0
        while offset < shadow.size {
            let count = Int(min(Int64(options.chunkSize), shadow.size - offset))
            let expected = try await shadow.read(at: offset, count: count)
            guard try await handle.read(at: offset, count: count) == expected, expected.count == count else {
                return false
            }
            offset += Int64(count)
        }
        return true
    }

    /// Starts a new generation. Must run under the write lock (no commit can slip between the
    /// WAL header we copy and the read lock we take).
    func startGeneration(reason: String) async throws {
        let fs = environment.fileSystem
        try await releaseReadLock()
        await shadow?.close()
        shadow = nil
        var new = Generation.make(at: environment.wallClock.now(), random: environment.random)
        // "Latest" is the newest name on a replica: ours must sort after another writer's even
        // when this machine's clock is behind.
        if let floor = generationFloor, new <= floor { new = Generation(value: floor.value + 1) }
        generation = new
        index = 0
        try await fs.createDirectory(state.shadowDirectory(new))
        let observation = try await observeWAL()
        if let header = observation.wal.header {
            shadow = try await ShadowWAL.create(path: state.shadowPath(new, index: 0), header: header, fileSystem: fs)
            try await copyBacklog(observation)
        }
        try await fs.writeAtomically(Array("\(new)\n".utf8), to: state.generationFile)
        try await acquireReadLock()
        lockHeldSinceLastCopy = true
        forceNewGeneration = nil
        logger.notice("new generation", metadata: ["generation": "\(new)", "reason": "\(reason)"])
        environment.generationObserver?(.started(new, reason: reason))
    }

    /// The shadow indexes on disk for a generation, ascending.
    public func shadowIndexes(of generation: Generation) async throws -> [UInt64] {
        let fs = environment.fileSystem
        let directory = state.shadowDirectory(generation)
        let names = try await FileSystemError.nilIfNotFound({ try await fs.list(directory) }) ?? []
        return names.compactMap(LocalState.parseShadowName).sorted()
    }

    func shadowState(_ shadow: ShadowWAL) -> ShadowState {
        ShadowState(
            position: Position(generation: generation!, index: index, offset: UInt64(shadow.size)),
            header: shadow.header, lastFrame: shadow.lastFrame)
    }
}
