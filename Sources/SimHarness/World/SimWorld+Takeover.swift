import Core

/// Which database's history a restored state is a state of. With a lease takeover the replica
/// may hold two: the first database's (possibly over several epochs) and the second's.
struct RestoredHistory {
    /// Epochs of the first database's history that held the state, ascending.
    var firstEpochs: [Int]
    /// Whether the second database's history (a takeover's) held it.
    var isSecond: Bool

    /// A state no database ever held: a torn or mixed restore.
    var isNone: Bool { firstEpochs.isEmpty && !isSecond }
}

/// The restore probes' checks of a lease takeover (`LeaseTakeover` states them).
extension SimWorld {
    func restoredHistory(of state: DatabaseState) -> RestoredHistory {
        RestoredHistory(
            firstEpochs: log.epochs(holding: state.commit, digest: state.digest),
            isSecond: takeover.map { !$0.log.epochs(holding: state.commit, digest: state.digest).isEmpty } ?? false)
    }

    /// Checks a restore to latest once a second replicator took the location over. A restore
    /// begun after the second's first report (`reported`, as it stood then) must be a state of
    /// the second database's history; one begun before may be a state of the first's, left to
    /// the first's checks (returns nil). Returns the commit of a state of the second's history,
    /// which must hold what the second's reports restored and never go back.
    func checkLatestAfterTakeover(_ latest: DatabaseState, reported: CommitLog.Report?, label: String, final: Bool)
        throws -> Int?
    {
        guard let second = takeover, let at = second.tookOverAt else { return nil }
        let history = restoredHistory(of: latest)
        guard history.isSecond, reported != nil || history.firstEpochs.isEmpty else {
            if let reported {
                throw InvariantViolation.supersededHistoryRestored(
                    "\(label): restore to latest holds commit \(latest.commit) (\(latest.digest)), not a state of the second database, which took the location over at \(at) and reported \(reported.position) at \(reported.time), before the restore began"
                )
            }
            if final {
                throw InvariantViolation.noCatchUp(
                    "\(label): the second replicator took the location over at \(at) but reported nothing; the replica restores commit \(latest.commit) of the first database"
                )
            }
            return nil
        }
        let required = second.log.verified.last?.commit ?? 0
        guard latest.commit >= required else {
            throw InvariantViolation.replicatedCommitLost(
                "\(label): restore to latest holds commit \(latest.commit) of the second database, but a position it reported replicated restored commit \(required)"
            )
        }
        guard latest.commit >= second.restoredHighWater else {
            throw InvariantViolation.replicatedCommitLost(
                "\(label): restore to latest holds commit \(latest.commit) of the second database, an earlier restore held commit \(second.restoredHighWater)"
            )
        }
        second.restoredHighWater = latest.commit
        return latest.commit
    }

    /// Restores exactly at the second replicator's reported position and checks that it holds a
    /// commit of the second database made by the time of the report (invariant 1).
    func exactProbeOfSecond(_ reported: CommitLog.Report, label: String, number: Int) async throws {
        guard let second = takeover else { return }
        let described = "\(label) second database's exact \(reported.position)"
        let state = try await restoreExactly(
            reported, output: "/restore/second-exact-\(number).db", described: described
        ) { state in
            guard self.restoredHistory(of: state).isSecond else {
                throw InvariantViolation.replicatedCommitLost(
                    "\(described): restores commit \(state.commit) (\(state.digest)), not a state of the second database"
                )
            }
        }
        if let state { second.log.recordVerified(reported, commit: state.commit) }
    }
}
