import Core

/// Invariant 8's second half: a restore that reads an object damaged at rest fails, naming the
/// object, and never returns other data. Also the excuses damage earns under the other invariants.
///
/// ### What is checked, on every restore while damage lasts
/// Each restore reads through a client of its own (`ReplicatorClients.restoreClient(reader:)`: the
/// S3 client in an S3 seed, else `SimReplicaClient.reading(as:)`), so the store records the damage
/// that restore met (`DamageSeen`): damaged objects it was served, and lost objects its listings
/// left out or its reads missed.
///
/// - A restore that succeeded although its plan read a damaged (truncated, cut or changed) object
///   breaks invariant 8 (`damagedObjectRestored`), whatever state it produced. Damaged objects
///   read only by an attempt the restore gave up on (it plans again when a planned object turns
///   out to be missing) do not count.
/// - A restore that read a damaged object and failed must fail with `RestoreError.corruptObject`
///   naming that object. An error about the damaged object's snapshot or WAL index that is
///   anything else (an invalid WAL, SQLite refusing the file, an untyped error) breaks invariant 8
///   too (`damagedObjectUnclear`): the frame's checksum is there to say which object is bad. An
///   error about something else (another index, downloaded in parallel, failed first) is judged
///   by the usual rules.
/// - A restore that failed with the corrupt object's name is excused from invariants 1 and 5 and
///   from "restore failed" (`RestoreFailedOnDamage`): the replica holds damage, the replicator did
///   nothing wrong.
///
/// ### Lost objects
/// A lost object is not read but missed: the restore plans from a listing without it. The planner
/// sees a hole (a missing index, a missing first segment, a gap) and fails with its own error, or
/// sees none (the lost object was the last segment of a generation, or a snapshot) and restores an
/// older state, which is all the replica shows. So a restore that missed a lost object and failed
/// with an error for missing history is excused like one that read damage; and one that missed a
/// lost object of its own generation or a newer one and succeeded keeps invariant 2 and the upper
/// bound of 3 (never later than the target), but not the lower bounds (1 for a restore to latest,
/// 3 and 5 for a time): it may hold less than was replicated. An exact restore names its position,
/// so its success is still held to be exactly that position.
///
/// ### Plans refuse missing history
/// Every failed restore, damaged or not: a WAL index whose first segment is missing from the
/// listing must be refused by the planner (`missingInitialSegment`, Litestream #224/#805), so
/// neither the downloader's gap check nor the WAL reader (an index that ends inside its header,
/// its first segment lost) meets an index that starts past offset 0 (`planNotExact`). While
/// damage lasts, `probeLostFirstSegment` restores through such an index on purpose.
///
/// ### What is not checked
/// - The replicator's response to damage while it lasts (it reads a generation's last segment back
///   to derive its position, and cannot go on while that one is damaged). Damage heals with the
///   other faults (`SimObjectStore.healDamage()`), and invariant 6 then holds it to catching up.
/// - After the heal no restore meets damage, so no excuse applies to the final probes.
extension SimWorld {
    /// Runs `request` on the restore machine through a client of its own and judges the damage it
    /// met. Throws `RestoreFailedOnDamage` for a failure damage excuses, an `InvariantViolation`
    /// for a broken invariant 8, and any other failure as it came.
    func restoreJudgingDamage(_ request: RestoreRequest, label: String) async throws -> (
        report: RestoreReport, seen: DamageSeen
    ) {
        restores += 1
        let reader = "restore-\(restores)"
        let restorer = Restorer(
            client: replicatorClients.restoreClient(reader: reader), environment: restoreNode.environment)
        var request = request
        (request.applyBatchBytes, request.indexMemoryLimit) = drawApplyLimits()
        let report: RestoreReport
        do {
            report = try await restorer.restore(request)
        } catch {
            let seen = await store.takeDamageSeen(by: reader)
            let judged = judgeFailure(error, seen: seen, label: label)
            if !(judged is InvariantViolation), let index = indexWithoutFirstSegment(error, seen: seen) {
                throw InvariantViolation.planNotExact(
                    "\(label): WAL index \(Hex.format(index, width: 16)) reached the download without its first segment (\(error)); the planner must refuse it (missingInitialSegment)"
                )
            }
            throw judged
        }
        let seen = await store.takeDamageSeen(by: reader)
        guard !seen.isEmpty else { return (report, seen) }
        let used = seen.damagedReads.filter { read in
            client.object(at: read.key).map { Self.plan(of: report, reads: $0) } ?? true
        }
        if !used.isEmpty {
            throw InvariantViolation.damagedObjectRestored(
                "\(label): read \(Self.describe(used)) and restored \(report.finalPosition) (snapshot \(Hex.format(report.snapshotIndex, width: 16))) as if whole"
            )
        }
        SimTrace.record(
            "\(label) succeeded past damage it did not use: read \(Self.describe(seen.damagedReads)); missed \(seen.lostKeys.count) lost objects"
        )
        restoresMetDamage += 1
        return (report, seen)
    }

    /// The WAL index a failed restore downloaded although its first segment was not listed, if the
    /// error shows one: a gap at offset 0 (a damaged first segment that decoded to nothing was
    /// judged before), or an index that ends inside its header at offset 0 while the restore's
    /// listing left out that index's offset-0 segment (it was lost).
    private func indexWithoutFirstSegment(_ error: any Error, seen: DamageSeen) -> UInt64? {
        switch error as? RestoreError {
        case .walGap(_, let index, 0, _)?:
            return index
        case .invalidWAL(let generation, let index, 0, _)?:
            let lostFirst = seen.lostKeys.contains { key in
                client.object(at: key) == .walSegment(Position(generation: generation, index: index, offset: 0))
            }
            return lostFirst ? index : nil
        default:
            return nil
        }
    }

    /// Whether a lost object the restore's listings left out may have made its result older than
    /// the replica held: any object of a newer generation (its snapshot would have been chosen),
    /// or a WAL segment of the restored generation at or past where the restore ended. Not an
    /// older generation's objects (the planner takes the newest generation that serves the
    /// target), nor the restored generation's snapshots or earlier segments (without those the
    /// same WAL leads to the same end from an older snapshot, or the restore fails at a hole).
    func lostObjectsMayShorten(_ seen: DamageSeen, _ report: RestoreReport) -> Bool {
        let end = report.finalPosition
        return seen.lostKeys.contains { key in
            switch client.object(at: key) {
            case .snapshot(let generation, _)?:
                return generation > report.generation
            case .walSegment(let position)?:
                return position.generation > report.generation
                    || (position.generation == report.generation
                        && (position.index, position.offset) >= (end.index, end.offset))
            case nil:
                return true
            }
        }
    }

    /// Whether a lost object the restore's listings left out may have changed the plan itself,
    /// not only its end: besides `lostObjectsMayShorten`'s objects, a snapshot of the restored
    /// generation newer than the one used, which the planner would have taken for a target
    /// after it (found by sluice sim, default seed 29: a lost snapshot, and a timestamp restore
    /// that rightly planned from the one before it, judged as not exact).
    func lostObjectsMayChangePlan(_ seen: DamageSeen, _ report: RestoreReport) -> Bool {
        lostObjectsMayShorten(seen, report)
            || seen.lostKeys.contains { key in
                if case .snapshot(let generation, let index)? = client.object(at: key) {
                    return generation == report.generation && index > report.snapshotIndex
                }
                return false
            }
    }

    /// What a failed restore's error becomes, given the damage it met.
    private func judgeFailure(_ error: any Error, seen: DamageSeen, label: String) -> any Error {
        guard damageActive, !seen.isEmpty else { return error }
        let damaged = seen.damagedReads.compactMap { client.object(at: $0.key) }
        if !damaged.isEmpty {
            let names = damaged.map { "\(client.location): \($0)" }
            if case RestoreError.corruptObject(let object, _)? = error as? RestoreError, names.contains(object) {
                SimTrace.record("\(label) failed on damage: \(error)")
                restoresMetDamage += 1
                return RestoreFailedOnDamage(underlying: error, seen: seen)
            }
            if Self.concerns(error, damaged) {
                return InvariantViolation.damagedObjectUnclear(
                    "\(label): read \(Self.describe(seen.damagedReads)) and failed with \(type(of: error)) \(error)")
            }
        }
        if !seen.lostKeys.isEmpty, Self.reportsMissingHistory(error) {
            SimTrace.record("\(label) failed on \(seen.lostKeys.count) lost objects: \(error)")
            restoresMetDamage += 1
            return RestoreFailedOnDamage(underlying: error, seen: seen)
        }
        return error
    }

    /// Whether the restore described by `report` read `object` for the state it returned.
    private static func plan(of report: RestoreReport, reads object: ReplicaObject) -> Bool {
        switch object {
        case .snapshot(let generation, let index):
            return generation == report.generation && index == report.snapshotIndex
        case .walSegment(let position):
            let last = report.finalPosition
            return position.generation == report.generation && report.appliedIndexes.contains(position.index)
                && (position.index < last.index || position.offset < last.offset)
        }
    }

    /// Whether `error` is about a damaged object's snapshot or WAL index, or is one no restore
    /// should ever fail with (untyped): such a failure had to name the corrupt object.
    private static func concerns(_ error: any Error, _ damaged: [ReplicaObject]) -> Bool {
        func walIndex(_ generation: Generation, _ index: UInt64) -> Bool {
            damaged.contains {
                if case .walSegment(let p) = $0 { p.generation == generation && p.index == index } else { false }
            }
        }
        func snapshot(_ generation: Generation, _ index: UInt64? = nil) -> Bool {
            damaged.contains {
                if case .snapshot(let g, let i) = $0 { g == generation && (index == nil || i == index) } else { false }
            }
        }
        guard let restoreError = error as? RestoreError else {
            if let s3 = error as? S3Error {
                // A request that got no answer or an error status says nothing about the damage;
                // an answer the client could not read (or any other S3 error) is a bug to see.
                switch s3 {
                case .unreachable, .requestFailed: return false
                default: return true
                }
            }
            return !(error is ReplicaClientError || error is SimObjectStoreError || error is CancellationError)
        }
        switch restoreError {
        case .invalidWAL(let generation, let index, _, _), .walGap(let generation, let index, _, _):
            return walIndex(generation, index)
        case .walIndexIncomplete(let generation, let index, _, _):
            return walIndex(generation, index) || walIndex(generation, index + 1)
        case .walNotApplied(let generation, let index, _, _), .pageSizeMismatch(let generation, let index, _, _):
            return walIndex(generation, index) || snapshot(generation)
        case .notACommitBoundary(let position), .positionNotReplicated(let position, _):
            return walIndex(position.generation, position.index)
        case .snapshotNotWALMode(let generation, let index):
            return snapshot(generation, index)
        case .integrityCheckFailed:
            return true
        case .noBackups, .generationNotFound, .noSnapshot, .targetRequiresGeneration, .invalidParallelism,
            .missingWALIndex, .missingInitialSegment, .outputExists, .outputDirectoryMissing, .corruptObject,
            .downloadFailed, .positionInsideSnapshotIndex:
            return false
        }
    }

    /// The errors a restore fails with when history it needs is missing from the listing.
    private static func reportsMissingHistory(_ error: any Error) -> Bool {
        if case ReplicaClientError.notFound? = error as? ReplicaClientError { return true }
        guard let restoreError = error as? RestoreError else { return false }
        switch restoreError {
        case .missingWALIndex, .missingInitialSegment, .walGap, .walIndexIncomplete, .positionNotReplicated,
            .noSnapshot,
            .generationNotFound, .noBackups, .positionInsideSnapshotIndex:
            return true
        default:
            return false
        }
    }

    private static func describe(_ reads: [DamageSeen.Read]) -> String {
        reads.map { "\($0.kind.rawValue) \($0.key)" }.joined(separator: ", ")
    }
}

/// A restore that failed because of damage at rest (it read a damaged object and named it, or it
/// missed a lost one and reported missing history): excused from what a healthy replica owes.
struct RestoreFailedOnDamage: Error, CustomStringConvertible {
    var underlying: any Error
    var seen: DamageSeen

    var description: String {
        "\(underlying) (the restore met damage at rest: \(seen.damagedReads.count) damaged objects read, \(seen.lostKeys.count) lost objects missed)"
    }
}

/// A checked restore: the state it produced, the generation it used, and whether a lost object
/// may have made it older than the replica held (then the lower bounds of invariants 1, 3 and 5
/// do not apply to it).
struct RestoredState {
    var state: DatabaseState
    var report: RestoreReport
    /// The store's moments (`ObjectHistory`) just before the restore began and after it returned.
    var storeMoments: (start: UInt64, end: UInt64)
    var mayMissLostObjects: Bool
    /// Lost objects its listings left out may have changed which objects it planned from.
    var mayMissPlannedObjects: Bool
    var generation: Generation { report.generation }
}
