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
    /// Invariant 9: a closed shadow index is not the committed prefix of the source WAL as it
    /// stood when the WAL restarted, or the next index does not begin the lifetime that followed.
    case shadowIndexDiffers(String)
    /// A restore failed although the replica should have served it.
    case restoreFailed(String)
    /// The replicator stopped with an error of its own.
    case replicatorFailed(String)

    public var name: String {
        switch self {
        case .replicatedCommitLost: return "invariant 1 (replicated commit restorable)"
        case .tornRestore: return "invariant 2 (restore at a commit boundary)"
        case .pointInTimeWrong: return "invariant 3 (point-in-time restore)"
        case .retentionLostRestorePoint: return "invariant 5 (retention keeps the window restorable)"
        case .sourceHarmed: return "invariant 4 (source never harmed)"
        case .noCatchUp: return "invariant 6 (catch-up after faults heal)"
        case .shadowIndexDiffers: return "invariant 9 (closed shadow index equals the WAL's committed prefix)"
        case .restoreFailed: return "restore failed"
        case .replicatorFailed: return "replicator failed"
        }
    }

    public var details: String {
        switch self {
        case .replicatedCommitLost(let d), .tornRestore(let d), .sourceHarmed(let d), .pointInTimeWrong(let d),
             .retentionLostRestorePoint(let d), .noCatchUp(let d), .shadowIndexDiffers(let d),
             .restoreFailed(let d), .replicatorFailed(let d):
            return d
        }
    }

    public var description: String { "\(name): \(details)" }
}
