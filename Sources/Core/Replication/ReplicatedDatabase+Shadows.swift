/// What snapshots and replicas need from the local side: a consistent view of the database file,
/// shadow extents to upload, and removal of shadow files every replica has uploaded.
extension ReplicatedDatabase {
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
