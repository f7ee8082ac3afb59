import Logging

/// Told, after each successful upload, the replica location and the position up to which that
/// replica now holds the WAL: everything the replicator considers replicated. Only positions of
/// a generation that has a snapshot on the replica are reported (before its first snapshot a
/// generation restores nothing). The simulator's oracle checks that a restore includes it.
/// Called on the syncer's actor; must not block.
public typealias ReplicationObserver = @Sendable (_ replica: String, _ position: Position) -> Void

/// Uploads one database's shadow WAL to one replica, takes its snapshots and enforces its
/// retention.
///
/// The replica's own listing is the truth about where it stands: the position is derived from
/// it when the syncer starts, when the generation changes, and after an error that puts it in
/// doubt (`putsPositionInDoubt`); between those it is cached, so a steady sync costs one PUT and
/// no LIST (Litestream #234).
public actor ReplicaSyncer {
    public nonisolated let client: any ReplicaClient
    let database: ReplicatedDatabase
    let environment: Environment
    let options: ReplicationOptions
    var logger: Logger
    let observer: ReplicationObserver?

    /// Everything before this position is on the replica; nil means "unknown, ask the replica".
    public internal(set) var position: Position?
    /// Where the index before the position's ended, learnt when the upload moved past it: the
    /// next index's first segment records it (`WALIndexSeal`).
    var sealedEnd: (generation: Generation, seal: WALIndexSeal)?
    var lastSnapshotTime: Timestamp?
    /// The WAL index of the current generation's newest snapshot on the replica: a scheduled
    /// snapshot at that index again is skipped (`SnapshotSchedule.isWorthTaking`).
    var lastSnapshotIndex: (generation: Generation, index: UInt64)?
    /// The shadow's end when this syncer's last snapshot began.
    var lastSnapshotSource: Position?
    var snapshotTimeKnown = false
    /// A generation known to have a snapshot on this replica. WAL uploaded for a generation
    /// without one restores nothing yet (a restore to latest falls back to an older generation),
    /// so it is reported replicated only once the snapshot is there.
    var restorableGeneration: Generation?
    var lastRetention: Timestamp?
    /// Our lease on the replica location, for clients that support leasing.
    var lease: Lease?
    /// Whether a lease renewal is on its way, and who waits for it (`renewLeaseIfDue`).
    var leaseRenewal = LeaseRenewalState()
    /// Counts writes that moved the replica forward (WAL segments and snapshots), so a caller
    /// can tell an attempt that failed part-way from one that got nowhere (`SyncBackoff`).
    public internal(set) var progress: UInt64 = 0
    /// Counts `sync()` calls that failed while uploading WAL. An attempt that moved `progress`
    /// and then failed here was cut short mid-backlog (by the store or by the local disk); one
    /// that failed elsewhere (deriving the position, which may take the generation's first
    /// snapshot; a scheduled snapshot; retention) was not.
    public private(set) var walUploadFailures: UInt64 = 0

    public init(
        client: any ReplicaClient, database: ReplicatedDatabase, options: ReplicationOptions, environment: Environment,
        observer: ReplicationObserver? = nil
    ) {
        self.client = client
        self.observer = observer
        self.database = database
        self.options = options
        self.environment = environment
        self.logger = environment.logger
        self.logger[metadataKey: "replica"] = "\(client.location)"
    }

    /// Where the replica stands, for `ReplicationEvents`.
    func report(failed: Bool, leaseLost: Bool = false) -> ReplicaSyncReport {
        let leaseHeld: Bool? = client is any ReplicaLeasing ? (!leaseLost && mayWrite) : nil
        return ReplicaSyncReport(
            replica: client.location, position: position, lastSnapshotAt: lastSnapshotTime,
            leaseHeld: leaseHeld, failed: failed)
    }

    // MARK: - WAL upload

    /// Uploads everything the shadow WAL holds beyond the replica's position.
    ///
    /// On an error that may mean the replica changed under us (the lease lost or lapsed, local
    /// shadow state gone, or any failure while deriving the position), the cached position is
    /// dropped and the next call derives it again from the replica's listing. A failed request
    /// while uploading keeps it: see `putsPositionInDoubt`.
    public func sync() async throws {
        do {
            try await syncUnchecked()
        } catch let failure as DerivationFailure {
            position = nil
            throw failure.error
        } catch {
            walUploadFailures += 1
            if Self.putsPositionInDoubt(error) { position = nil }
            throw error
        }
    }

    /// An error while deriving the position: the position is unknown, and the attempt did not
    /// fail while uploading WAL.
    private struct DerivationFailure: Error {
        var error: any Error
    }

    private func syncUnchecked() async throws {
        guard mayWrite else { throw ReplicaSyncError.leaseNotHeld(replica: client.location) }
        guard let target = await database.position else { return }
        if let current = position, current.generation != target.generation {
            // Finish what is left of the old generation while its shadow still exists locally,
            // but only once: after a failure the next attempt moves on to the new generation, so
            // an old shadow that cannot be read or uploaded never holds the new one back.
            do {
                try await uploadAvailable(upTo: nil)
            } catch {
                position = nil
                throw error
            }
        }
        if position?.generation != target.generation {
            do {
                try await resume(generation: target.generation)
            } catch {
                throw DerivationFailure(error: error)
            }
        }
        try await uploadAvailable(upTo: target)
    }

    /// Whether an error while uploading means the cached position can no longer be trusted.
    ///
    /// Everything before the position went up in writes of our own that succeeded, and a failed
    /// write never makes the replica hold less: at most it landed unseen (an ambiguous success),
    /// and the next attempt writes the same key, from the same start, with the same bytes or
    /// more. So a failed request or a local I/O error leaves the position true. What says
    /// someone else may write (a lost or lapsed lease), that the replica lost objects or its
    /// location (`ReplicaRequestError.replicaMayHaveChanged`), or that the local shadow changed
    /// puts it in doubt, and so does any error a client does not classify.
    ///
    /// Why not derive it again after every error, as Litestream does: deriving it lists the whole
    /// generation, and on a long generation and a flaky store that listing rarely got through.
    /// After one failed lease renewal, a replicator listing 100 indexes in pages of two, one
    /// request in seven failing, uploaded nothing and took no snapshot for the rest of the
    /// 300 s run (sluice sim, default seed 66).
    static func putsPositionInDoubt(_ error: any Error) -> Bool {
        switch error {
        case let request as any ReplicaRequestError: return request.replicaMayHaveChanged
        // A stop cut the upload short: like a failed request, it landed or it did not. Dropped
        // here, the position sent the final sync to a listing, which a flaky store can refuse.
        case is CancellationError: return false
        default: return true
        }
    }

    /// Derives the position from the replica's listing, taking the generation's first snapshot
    /// if the replica has none.
    private func resume(generation: Generation) async throws {
        // A newer generation on the replica is another writer's (a replicator that held the lease
        // while this one could not): continuing ours would leave "latest" naming theirs, and a
        // restore to latest returning their older data for as long as ours lasts.
        if let newest = try await client.generations().max(), newest > generation {
            await database.requestNewGeneration(
                reason:
                    "replica \(client.location) holds generation \(newest), newer than \(generation), from another replicator",
                after: newest)
            throw ReplicaSyncError.newerGenerationOnReplica(replica: client.location, generation: newest)
        }
        let segments = try await client.walSegments(in: generation)
        // The snapshot schedule runs from the generation's newest snapshot, which this listing
        // already names: `snapshotIfDue` need not list the snapshots again after every start.
        let snapshots = try await client.snapshots(in: generation)
        learnSnapshots(snapshots, of: generation)
        let localIndexes = try await database.shadowIndexes(of: generation)
        if let last = segments.max(by: { ($0.index, $0.offset) < ($1.index, $1.offset) }) {
            let length = try await decompressedLength(at: last.position)
            let derived = Position(generation: generation, index: last.index, offset: last.offset + length)
            if let extent = try await database.shadowExtent(generation: generation, index: derived.index) {
                if Int64(derived.offset) > extent.size {
                    // The replica holds WAL this machine never had: another writer, or local state
                    // that was reset. Continuing would interleave two histories.
                    await database.requestNewGeneration(
                        reason: "replica \(client.location) is ahead of the local WAL at \(derived)")
                    throw ReplicaSyncError.replicaAhead(replica: client.location, position: derived)
                }
                position = derived
                if snapshots.isEmpty { try await snapshot() }
                return
            }
            logger.warning(
                "local shadow WAL no longer holds the replica's position; taking a snapshot",
                metadata: ["position": "\(derived)"])
        }
        // Nothing usable on the replica: upload from the first local index, then snapshot.
        position = Position(generation: generation, index: localIndexes.first ?? 0, offset: 0)
        if !snapshots.isEmpty, segments.isEmpty, let first = localIndexes.first,
            snapshots.contains(where: { $0.index <= first })
        {
            return
        }
        // No shadow at all (the WAL was empty since the generation began) and a snapshot at the
        // index the database is at: that snapshot is the state to go on from. Taking another
        // would replace it under the same name, and with it the restore points since its upload.
        if localIndexes.isEmpty, segments.isEmpty, let current = await database.position,
            current.generation == generation,
            current.offset == 0, snapshots.contains(where: { $0.index == current.index })
        {
            position = current
            return
        }
        try await snapshot()
    }

    private func decompressedLength(at position: Position) async throws -> UInt64 {
        let source = LZ4DecompressingSource(try await client.openWALSegment(at: position))
        var total: UInt64 = 0
        do {
            while true {
                let chunk = try await source.read(upTo: options.chunkSize)
                if chunk.isEmpty { break }
                total += UInt64(chunk.count)
            }
        } catch {
            await source.close()
            throw error
        }
        await source.close()
        return total
    }

    /// Uploads shadow bytes from the position on, index by index, up to `target` (or as far as
    /// the local shadow of the position's generation goes when `target` is nil).
    func uploadAvailable(upTo target: Position?) async throws {
        while var current = position {
            guard let extent = try await database.shadowExtent(generation: current.generation, index: current.index)
            else {
                if target == nil { return }
                throw ReplicaSyncError.shadowMissing(position: current)
            }
            if Int64(current.offset) < extent.size {
                // A long backlog on a slow store can take longer than the lease: keep it fresh
                // between segments, and stop writing if it cannot be (another replicator may take
                // the location over once it expires). Renewed only between syncs, a lease ran out
                // during one sync with a 30 s stall in it (sluice sim, default seed 64).
                try await ensureLease()
                current.offset = UInt64(try await uploadSegmentRetrying(from: current, to: extent.size))
                position = current
                progress += 1
                if restorableGeneration == current.generation { observer?(client.location, current) }
            } else if extent.isFinal {
                if let target, current.index >= target.index, current.generation == target.generation { return }
                sealedEnd = (
                    current.generation, WALIndexSeal(previousIndex: current.index, previousEnd: current.offset)
                )
                position = Position(generation: current.generation, index: current.index + 1, offset: 0)
            } else {
                return
            }
        }
    }

    /// Tries at each read of the shadow while a segment streams. Without them, one failed read
    /// failed the upload, and the next try read the segment from its start again: a segment of
    /// up to 16 MiB read in 4 KiB pieces never got through a disk failing one call in twenty
    /// (sluice sim, default seed 20: no WAL uploaded, and so no snapshot, for the whole run).
    static let shadowReadAttempts = 8

    /// Attempts at one WAL segment before the attempt to sync fails.
    static let segmentAttempts = 3

    /// `uploadSegment`, tried again in place after a short pause when it fails.
    ///
    /// Why: a failed sync drops the cached position and derives it again from a listing of the
    /// whole generation, then waits for the next sync. Under a store that fails a few requests in
    /// a hundred, a backlog of many small indexes (one request each) almost never went up whole;
    /// each attempt got part of the way, the listings it then needed (hundreds of pages on a long
    /// generation) failed in turn, the replica fell further behind and no scheduled snapshot or
    /// retention pass ran for the whole run, since both wait for a sync that succeeds (found by
    /// sluice sim, default seeds 122, 123, 124 and 127: one snapshot in 300 s instead of 5 to 30,
    /// and restores that replayed over a thousand indexes).
    ///
    /// Retrying in place is safe: a segment's key is its start, and the shadow's bytes from that
    /// start never change, so whatever an earlier attempt may have landed under the key holds the
    /// same bytes, or fewer of them. A store that refuses to replace a segment (`alreadyExists`)
    /// has one there: this syncer's earlier attempt, or a killed predecessor's upload that landed
    /// late. Either is this generation's history from `start` (one writer per location, under the
    /// lease), so the upload goes on from where that segment ends.
    private func uploadSegmentRetrying(from start: Position, to end: Int64) async throws -> Int64 {
        var attempt = 1
        while true {
            do {
                return try await uploadSegment(from: start, to: end)
            } catch ReplicaClientError.alreadyExists {
                return try await adoptSegment(at: start, shadowEnd: end)
            } catch {
                guard attempt < Self.segmentAttempts, !(error is CancellationError), !(error is LeaseError), mayWrite,
                    !Task.isCancelled
                else { throw error }
                logger.warning(
                    "WAL segment upload failed; trying again",
                    metadata: ["position": "\(start)", "attempt": "\(attempt)", "error": "\(error)"])
                // 100 ms, then 400 ms: long enough for a blip to pass, short enough that a backlog
                // keeps moving.
                try await environment.clock.sleep(for: .milliseconds(100 << (2 * (attempt - 1))))
                attempt += 1
            }
        }
    }

    /// Uploads shadow bytes from `start` towards `end` as one segment and returns where it ended:
    /// at `end`, or, for a backlog longer than `maxSegmentSize`, at the first commit boundary at
    /// or past that size (`CommitBoundedSource`).
    private func uploadSegment(from start: Position, to end: Int64) async throws -> Int64 {
        let path = database.state.shadowPath(start.generation, index: start.index)
        let handle = try await environment.fileSystem.open(path, mode: .readOnly)
        var bounded: CommitBoundedSource?
        let source: LZ4CompressingSource
        let upload: any ByteSource
        do {
            var range: any ByteSource = FileRangeSource(
                handle: handle, from: Int64(start.offset), to: end, closesHandle: true,
                readAttempts: Self.shadowReadAttempts)
            if end - Int64(start.offset) > Int64(options.maxSegmentSize) {
                guard let header = WALHeader(try await handle.read(at: 0, count: WALFormat.headerSize)) else {
                    throw ReplicationError.shadowCorrupt(path: path, reason: "missing or invalid WAL header")
                }
                // The cutter reads frames from the start, so it needs a start on a frame boundary;
                // every position Sluice makes is one, and from any other the range goes up whole.
                let offset = Int64(start.offset)
                if offset == 0 || WALFormat.alignToFrame(offset, pageSize: header.pageSize) == offset {
                    let cutter = CommitBoundedSource(
                        range, pageSize: header.pageSize, startsWithHeader: start.offset == 0,
                        limit: Int64(options.maxSegmentSize))
                    bounded = cutter
                    range = cutter
                }
            }
            source = LZ4CompressingSource(range, readSize: options.chunkSize)
            upload = seal(for: start).map { PrefixedSource($0.frame.bytes, then: source) } ?? source
        } catch {
            try? await handle.close()
            throw error
        }
        do {
            try await client.writeWALSegment(at: start, data: upload)
            await source.close()
        } catch {
            await source.close()
            throw error
        }
        let segmentEnd = bounded.map { Int64(start.offset) + $0.emitted } ?? end
        logger.trace("uploaded WAL segment", metadata: ["position": "\(start)", "end": "\(segmentEnd)"])
        return segmentEnd
    }

    /// The seal a segment starting at `start` carries: the first segment of an index whose
    /// predecessor this syncer uploaded to its end. Both layouts carry it: Litestream's LZ4
    /// reader skips it, and legacy replicas lose segments as grouped ones do (sluice sim, default
    /// seed 835: a torn restore from a legacy replica that lost an index's last segment).
    private func seal(for start: Position) -> WALIndexSeal? {
        guard start.offset == 0, let (generation, seal) = sealedEnd,
            generation == start.generation, seal.previousIndex + 1 == start.index
        else { return nil }
        return seal
    }
}

/// Errors of one replica's sync; the syncer recovers from each by re-reading the replica.
public enum ReplicaSyncError: Error, Equatable, CustomStringConvertible {
    case replicaAhead(replica: String, position: Position)
    case shadowMissing(position: Position)
    case leaseNotHeld(replica: String)
    case positionUnknown(replica: String)
    case newerGenerationOnReplica(replica: String, generation: Generation)
    case segmentNotOurs(replica: String, position: Position)

    public var description: String {
        switch self {
        case .newerGenerationOnReplica(let replica, let generation):
            return
                "replica \(replica) holds generation \(generation), newer than this database's, from another replicator; starting a new generation"
        case .positionUnknown(let replica):
            return
                "not writing a snapshot to \(replica) before its position in the current generation is known; retrying"
        case .leaseNotHeld(let replica):
            return "not writing to \(replica): the lease could not be renewed in time; retrying"
        case .replicaAhead(let replica, let position):
            return "replica \(replica) holds WAL up to \(position), beyond the local WAL; starting a new generation"
        case .segmentNotOurs(let replica, let position):
            return
                "replica \(replica) holds a WAL segment at \(position) that differs from the local WAL; starting a new generation"
        case .shadowMissing(let position):
            return "local shadow WAL for \(position) is gone before it was uploaded"
        }
    }
}
