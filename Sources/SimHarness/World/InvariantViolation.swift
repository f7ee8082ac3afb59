/// A broken promise of DESIGN.md §7, as the simulator's oracle detected it. The description is
/// one line: the invariant's name, then the details.
public enum InvariantViolation: Error, Equatable, CustomStringConvertible {
    /// Invariant 1: a restore is missing a commit the replicator had reported as replicated.
    case replicatedCommitLost(String)
    /// Invariant 2: a restore is not the state at any commit boundary, or fails integrity_check.
    case tornRestore(String)
    /// Invariant 3: a point-in-time restore yielded a commit later than its target, or earlier
    /// than what was replicated by then.
    case pointInTimeWrong(String)
    /// Invariant 5: retention removed something a restore point inside the window needs.
    case retentionLostRestorePoint(String)
    /// Invariant 4: the source database was harmed.
    case sourceHarmed(String)
    /// Invariant 6: after the workload stopped and faults healed, replication did not catch up.
    case noCatchUp(String)
    /// Invariant 8: a restore read an object damaged at rest and still succeeded.
    case damagedObjectRestored(String)
    /// Invariant 8: a restore that read an object damaged at rest failed, but not with the error
    /// that names the corrupt object (`RestoreError.corruptObject`).
    case damagedObjectUnclear(String)
    /// Invariant 8: a restore did not carry out the plan the planner promises for its target
    /// and the replica it listed (a timestamp restore's snapshot uploaded after the target, its
    /// WAL cut at the wrong segment, or a WAL index without its first segment downloaded).
    case planNotExact(String)
    /// Invariant 9: a closed shadow index is not the committed prefix of the source WAL as it
    /// stood when the WAL restarted, or the next index does not begin the lifetime that followed.
    case shadowIndexDiffers(String)
    /// A restore failed although the replica should have served it.
    case restoreFailed(String)
    /// The replicator stopped with an error of its own.
    case replicatorFailed(String)
    /// Invariant 7: a new generation (and so a full snapshot) with no cause the simulator can name.
    case needlessGeneration(String)
    /// A replicator issued a write to the replica while the lease object did not name it, or
    /// had expired (`LeaseOracle`).
    case writeWithoutLease(String)
    /// After a second replicator took the location over and reported its first position, a
    /// restore to latest held a state that is not of the second database's history.
    case supersededHistoryRestored(String)
    /// The replicator that lost its location to a takeover went on running, or a restart of it
    /// was not refused while the new holder held the lease.
    case supersededReplicatorRan(String)
    /// Liveness, in the healed window: a commit was not restorable from the replica within the
    /// seed's lag bound (`LivenessBounds`).
    case replicaLagging(String)
    /// Liveness, in the healed window: a scheduled snapshot landed later than the seed's bound.
    case snapshotLate(String)
    /// Liveness, in the healed window: the source WAL's current lifetime held more frames than
    /// the checkpoint threshold plus what the app wrote while a checkpoint was due.
    case walRunaway(String)

    public var name: String {
        switch self {
        case .replicatedCommitLost: return "invariant 1 (replicated commit restorable)"
        case .tornRestore: return "invariant 2 (restore at a commit boundary)"
        case .pointInTimeWrong: return "invariant 3 (point-in-time restore)"
        case .retentionLostRestorePoint: return "invariant 5 (retention keeps the window restorable)"
        case .sourceHarmed: return "invariant 4 (source never harmed)"
        case .noCatchUp: return "invariant 6 (catch-up after faults heal)"
        case .damagedObjectRestored: return "invariant 8 (a restore that reads a damaged object fails)"
        case .damagedObjectUnclear: return "invariant 8 (a damaged object fails the restore by name)"
        case .planNotExact: return "invariant 8 (plans are exact)"
        case .shadowIndexDiffers: return "invariant 9 (closed shadow index equals the WAL's committed prefix)"
        case .restoreFailed: return "restore failed"
        case .replicatorFailed: return "replicator failed"
        case .needlessGeneration: return "invariant 7 (no needless generation)"
        case .writeWithoutLease: return "lease (writes only under the lease)"
        case .supersededHistoryRestored: return "takeover (the replica holds only the new holder's history)"
        case .supersededReplicatorRan: return "takeover (the superseded replicator stops and stays out)"
        case .replicaLagging: return "liveness (replica lag within its bound)"
        case .snapshotLate: return "liveness (scheduled snapshots on time)"
        case .walRunaway: return "liveness (source WAL within its bound)"
        }
    }

    public var details: String {
        switch self {
        case .replicatedCommitLost(let d), .tornRestore(let d), .sourceHarmed(let d), .pointInTimeWrong(let d),
            .retentionLostRestorePoint(let d), .noCatchUp(let d), .damagedObjectRestored(let d),
            .damagedObjectUnclear(let d), .planNotExact(let d),
            .restoreFailed(let d), .replicatorFailed(let d), .needlessGeneration(let d), .writeWithoutLease(let d),
            .supersededHistoryRestored(let d), .supersededReplicatorRan(let d), .shadowIndexDiffers(let d),
            .replicaLagging(let d), .snapshotLate(let d), .walRunaway(let d):
            return d
        }
    }

    public var description: String { "\(name): \(details)" }
}
