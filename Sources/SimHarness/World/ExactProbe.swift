import Core

/// Invariant 1, part one: a position the replicator reported replicated restores exactly to a
/// commit boundary of the history it was reported in.
extension SimWorld {
    /// Restores `reported` exactly (its generation, index and offset) and checks the restore
    /// against the log; records the commit it holds as verified and returns it. Returns nil when
    /// the restore is excused (`restoreExactly`). After a takeover, with retention on, the
    /// second's retention may have removed the first's generation: any refusal then passes.
    func verifyExactly(
        _ reported: CommitLog.Report, label: String, output: String, retiredDuring: @escaping () -> Bool = { false }
    ) async throws -> Int? {
        let mayBeRetired = takeover?.tookOverAt != nil && parameters.replication.retention != nil
        let described = "\(label) exact \(reported.position)"
        let state = try await restoreExactly(
            reported, output: output, described: described, mayRefuse: { mayBeRetired || retiredDuring() }
        ) {
            state in
            // The replicator reported it while the source had this history: the restore must
            // be a state of that history, not one of a history a power loss cut off.
            guard self.log.epochs(holding: state.commit, digest: state.digest).contains(reported.epoch) else {
                throw InvariantViolation.replicatedCommitLost(
                    "\(described): reported replicated in epoch \(reported.epoch), restores commit \(state.commit) of another history (\(state.digest))"
                )
            }
        }
        guard let state else { return nil }
        log.recordVerified(reported, commit: state.commit)
        return state.commit
    }

    /// Restores `reported` exactly, checks that the restore holds no commit made after the report,
    /// and hands it to `check` (which history it must belong to). Returns nil when the planner
    /// refuses within its documented limits (or any refusal, with `mayRefuse`), when the restore
    /// fails while store faults are active, or on damage at rest (`restoreJudgingDamage` judged it).
    func restoreExactly(
        _ reported: CommitLog.Report, output: String, described: String, mayRefuse: () -> Bool = { false },
        check: (DatabaseState) throws -> Void
    ) async throws -> DatabaseState? {
        let request = RestoreRequest(
            outputPath: output, generation: reported.position.generation,
            target: .position(index: reported.position.index, offset: reported.position.offset),
            parallelism: 1 + Int(random.next() % 4))
        do {
            let state = try await restoreAndRead(request, label: described)
            try check(state)
            guard state.commit <= reported.commitsThen else {
                throw InvariantViolation.tornRestore(
                    "\(described): restores commit \(state.commit), but only \(reported.commitsThen) were committed when it was reported"
                )
            }
            return state
        } catch let error as RestoreError where Self.mayRefuseExact(error) || mayRefuse() {
            SimTrace.record("\(described) refused: \(error)")
        } catch is RestoreFailedOnDamage {
            skippedProbes += 1
        } catch let error as RestoreError {
            if case .positionNotReplicated = error {
                throw InvariantViolation.replicatedCommitLost(
                    "\(described): reported replicated, restore says \(error)")
            }
            if !faultsActive { throw InvariantViolation.restoreFailed("\(described): \(error)") }
            skippedProbes += 1
        } catch let violation as InvariantViolation {
            throw violation
        } catch {
            if mayRefuse() {
                SimTrace.record("\(described) refused: \(error)")
                return nil
            }
            if !faultsActive { throw InvariantViolation.restoreFailed("\(described): \(error)") }
            skippedProbes += 1
        }
        return nil
    }

    /// Restore refusals that are the planner's documented limits, not failures: an exact
    /// position inside the earliest snapshot's index, or history retention has since removed.
    static func mayRefuseExact(_ error: RestoreError) -> Bool {
        switch error {
        case .positionInsideSnapshotIndex, .generationNotFound, .noSnapshot: return true
        default: return false
        }
    }
}
