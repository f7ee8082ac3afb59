/// A replica's snapshots: the generation's first, then one every `snapshot-interval`, each
/// staged from a pinned copy of the database and uploaded under the lease.
extension ReplicaSyncer {
    /// Writes a snapshot of the database file, labelled with the WAL index it is consistent
    /// with. The WAL the file may already contain is uploaded first, so no restore point can
    /// combine this snapshot with less WAL than it needs.
    ///
    /// The database is pinned (no replicator checkpoint runs) only while its file is copied,
    /// compressed, into a local staging file; the WAL it needs and the snapshot itself are uploaded
    /// after the pin is released. Pinned through the uploads, a replica that had fallen behind (a
    /// slow or failing store, a backlog left by downtime) held every checkpoint off, the emergency
    /// TRUNCATE included, for as long as it took to catch up, and the source WAL grew by everything
    /// written meanwhile (found by sluice sim, default seed 472: 93 MB after a power loss left a
    /// 21 MB backlog uploading in 64 KiB segments; and every stalled snapshot upload did the same
    /// for the length of the stall).
    public func snapshot() async throws {
        guard mayWrite else { throw ReplicaSyncError.leaseNotHeld(replica: client.location) }
        let source = await database.position
        guard let lease = try await database.beginSnapshot() else { return }
        let staged: StagedSnapshot
        do {
            // Without a known position in this generation, the WAL the file may contain cannot be
            // checked onto the replica first, so no snapshot is written.
            guard let current = position, current.generation == lease.generation else {
                throw ReplicaSyncError.positionUnknown(replica: client.location)
            }
            staged = try await stage(lease)
        } catch {
            await database.endSnapshot()
            throw error
        }
        await database.endSnapshot()

        do {
            if let current = position, !current.isAtOrAfter(lease.requiredUpload) {
                try await uploadAvailable(upTo: lease.requiredUpload)
            }
            guard let uploaded = position, uploaded.isAtOrAfter(lease.requiredUpload) else {
                throw ReplicaSyncError.shadowMissing(position: lease.requiredUpload)
            }
            try await ensureLease()
            let data = FileRangeSource(handle: staged.handle, from: 0, to: staged.size, closesHandle: false)
            let info = try await client.writeSnapshot(generation: lease.generation, index: lease.index, data: data)
            await discard(staged)
            progress += 1
            lastSnapshotTime = info.createdAt
            lastSnapshotIndex = (lease.generation, info.index)
            lastSnapshotSource = source
            snapshotTimeKnown = true
            if restorableGeneration != lease.generation {
                // The generation's first snapshot: what was uploaded before it is now restorable
                // (found by sluice sim, power-loss seed 92: a failed first snapshot left segments
                // reported replicated that a restore to latest could not reach).
                restorableGeneration = lease.generation
                if let position, position.generation == lease.generation { observer?(client.location, position) }
            }
            logger.info("snapshot written", metadata: ["generation": "\(lease.generation)", "index": "\(lease.index)"])
        } catch {
            await discard(staged)
            throw error
        }
    }

    /// A snapshot's compressed bytes in a local staging file, waiting for their upload.
    private struct StagedSnapshot {
        var path: String
        var handle: any FileHandle
        var size: Int64
    }

    /// Compresses the pinned database file into a staging file beside the local state (`*.tmp`,
    /// so a crash's leftover is removed at the next start). Local reads and writes only: this is
    /// all that runs while checkpoints wait.
    ///
    /// A failed read or write is tried again at once from where it stopped, for as long as the
    /// retries get further (`ProgressRetry`). Started over after each error, a snapshot of a file
    /// read in many pieces rarely got through a disk that failed now and then, and each failure
    /// lengthened the backoff: at a few I/O errors in a thousand calls a generation had no
    /// snapshot, so nothing of it could be restored, for the whole 300 s run (found by sluice
    /// sim, default seed 20, by recording the longest gap between snapshots).
    private func stage(_ lease: ReplicatedDatabase.SnapshotLease) async throws -> StagedSnapshot {
        let fileSystem = environment.fileSystem
        let name =
            "snapshot-\(lease.generation)-\(Hex.format(lease.index, width: 16))-\(Hex.format(environment.random.next(), width: 16)).tmp"
        let path = Path.join(database.state.directory, name)
        let handle = try await fileSystem.open(path, mode: .truncate)
        let staged = StagedSnapshot(path: path, handle: handle, size: 0)
        do {
            let compressed = LZ4CompressingSource(
                FileRangeSource(handle: lease.handle, from: 0, to: lease.size, closesHandle: false),
                readSize: options.chunkSize)
            var size: Int64 = 0
            // A compressed chunk whose write failed: the encoder has moved past it, so it is kept
            // for the retry.
            var unwritten: [UInt8]?
            try await ProgressRetry.run(
                fruitlessLimit: Self.stagingFruitlessLimit, progress: { [compressed.consumed, size] }
            ) {
                while true {
                    let chunk: [UInt8]
                    if let kept = unwritten { chunk = kept } else { chunk = try await compressed.read(upTo: 1 << 20) }
                    if chunk.isEmpty { break }
                    unwritten = chunk
                    try await handle.write(chunk, at: size)
                    unwritten = nil
                    size += Int64(chunk.count)
                }
            }
            return StagedSnapshot(path: path, handle: handle, size: size)
        } catch {
            await discard(staged)
            throw error
        }
    }

    /// Failed staging tries in a row that got no further, after which the snapshot fails.
    static let stagingFruitlessLimit = 8

    private func discard(_ staged: StagedSnapshot) async {
        try? await staged.handle.close()
        try? await environment.fileSystem.remove(staged.path)
    }

    /// Takes a snapshot when `snapshotInterval` has passed since the replica's latest one and
    /// something was committed since this syncer's last snapshot began. An idle database is not
    /// uploaded whole again every interval: its last snapshot, with the WAL after it, restores the
    /// same states, and retention asks for a snapshot of its own when its window needs one.
    /// Takes what the schedule needs from a listing of `generation`'s snapshots: the newest's
    /// time and index, and that the generation is restorable if it has any.
    func learnSnapshots(_ snapshots: [SnapshotInfo], of generation: Generation) {
        if !snapshots.isEmpty { restorableGeneration = generation }
        lastSnapshotTime = snapshots.map(\.createdAt).max()
        lastSnapshotIndex = snapshots.map(\.index).max().map { (generation, $0) }
        snapshotTimeKnown = true
    }

    public func snapshotIfDue() async throws {
        guard options.snapshotInterval != nil else { return }
        if !snapshotTimeKnown, let generation = position?.generation {
            learnSnapshots(try await client.snapshots(in: generation), of: generation)
        }
        let now = environment.wallClock.now()
        guard
            let due = SnapshotSchedule.nextSnapshot(
                after: lastSnapshotTime, interval: options.snapshotInterval, now: now),
            due <= now
        else { return }
        let current = await database.position
        if let last = lastSnapshotSource, current == last { return }
        let newest = lastSnapshotIndex.flatMap { $0.generation == current?.generation ? $0.index : nil }
        guard SnapshotSchedule.isWorthTaking(atIndex: current?.index, newestSnapshotIndex: newest) else {
            // Move the WAL on to the next index first; the snapshot follows at a later call, once
            // the shadow is there (a checkpoint that cannot complete is asked for again).
            await database.requestCheckpoint(
                reason: "a scheduled snapshot is due and WAL index \(newest.map { "\($0)" } ?? "?") already has one")
            return
        }
        try await snapshot()
    }
}
