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
    /// Invariant 8: a restore did not carry out the plan the planner promises for its target
    /// and the replica it listed (a timestamp restore's snapshot uploaded after the target, or
    /// its WAL cut at the wrong segment).
    case planNotExact(String)
    /// Invariant 4: the source database was harmed.
    case sourceHarmed(String)
    /// Invariant 6: after the workload stopped and faults healed, replication did not catch up.
    case noCatchUp(String)
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
        case .planNotExact: return "invariant 8 (plans are exact)"
        case .noCatchUp: return "invariant 6 (catch-up after faults heal)"
        case .restoreFailed: return "restore failed"
        case .replicatorFailed: return "replicator failed"
        }
    }

    public var details: String {
        switch self {
        case .replicatedCommitLost(let d), .tornRestore(let d), .sourceHarmed(let d), .pointInTimeWrong(let d),
             .retentionLostRestorePoint(let d), .noCatchUp(let d), .planNotExact(let d),
             .restoreFailed(let d), .replicatorFailed(let d):
            return d
        }
    }

    public var description: String { "\(name): \(details)" }
}
