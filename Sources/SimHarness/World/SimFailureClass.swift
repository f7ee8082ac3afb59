/// What kind of failure a seed had: `sluice sim` exits with a status per class, so a script (or
/// a CI job) can tell a broken guarantee from a run that did not finish or did not replay.
public enum SimFailureClass: Int32, Sendable, CaseIterable {
    /// An invariant about the data broke: a lost or torn restore, a wrong point in time, a
    /// harmed source, a needless generation, a write without the lease, a restore that should
    /// have worked and failed.
    case safety = 10
    /// The system did not make progress: no catch-up after faults healed (invariant 6), a
    /// deadlock, or a run that never finished (the job or simulated-time limit).
    case liveness = 11
    /// Something stopped that should not have: the replicator failed with an error of its own,
    /// the run threw an error that is no invariant, or a worker process died.
    case crash = 12
    /// The run left the simulation's control (a real-time sleep, a foreign thread), or its
    /// replay gave a different trace: the seed no longer reproduces.
    case escape = 13

    /// The class of an invariant violation.
    public init(_ violation: InvariantViolation) {
        switch violation {
        case .noCatchUp, .replicaLagging, .snapshotLate, .walRunaway: self = .liveness
        case .replicatorFailed: self = .crash
        default: self = .safety
        }
    }

    /// The class of a scheduler failure that is not an invariant violation.
    public init(_ failure: SimFailure) {
        switch failure {
        case .deadlock, .jobLimit, .timeLimit: self = .liveness
        case .escape: self = .escape
        case .bodyThrew: self = .crash
        }
    }

    /// The class `sluice sim` exits with when seeds failed in several: the first of safety,
    /// escape, crash, liveness (a broken guarantee outranks a run that cannot be trusted to
    /// replay, which outranks one that stopped or stalled).
    public static func exitClass(of classes: some Sequence<SimFailureClass>) -> SimFailureClass? {
        let present = Set(classes)
        return [.safety, .escape, .crash, .liveness].first { present.contains($0) }
    }
}
