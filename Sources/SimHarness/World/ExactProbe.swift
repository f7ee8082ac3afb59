import Core

/// Invariant 1, part one: a position the replicator reported replicated restores exactly to a
/// commit boundary of the history it was reported in.
extension SimWorld {
    /// Restores `reported` exactly (its generation, index and offset) and checks the restore
    /// against the log; records the commit it holds as verified and returns it. Returns nil when
    /// the planner refuses within its documented limits, when the restore fails while store
    /// faults are active, or on damage at rest (`restoreJudgingDamage` judged it). After a
    /// takeover, with retention on, the second's retention may have removed the first's
    /// generation: any refusal then passes.
    func verifyExactly(_ reported: CommitLog.Report, label: String, output: String) async throws -> Int? {
        let request = RestoreRequest(outputPath: output, generation: reported.position.generation,
                                     target: .position(index: reported.position.index, offset: reported.position.offset),
                                     parallelism: 1 + Int(random.next() % 4))
        let mayBeRetired = takeover?.tookOverAt != nil && parameters.replication.retention != nil
        do {
            let state = try await restoreAndRead(request, label: "\(label) exact \(reported.position)")
            // The replicator reported it while the source had this history: the restore must
            // be a state of that history, not one of a history a power loss cut off.
            guard log.epochs(holding: state.commit, digest: state.digest).contains(reported.epoch) else {
                throw InvariantViolation.replicatedCommitLost("\(label): position \(reported.position), reported replicated in epoch \(reported.epoch), restores commit \(state.commit) of another history (\(state.digest))")
            }
            guard state.commit <= reported.commitsThen else {
                throw InvariantViolation.tornRestore("\(label): position \(reported.position) restores commit \(state.commit), but only \(reported.commitsThen) were committed when it was reported")
            }
            log.recordVerified(reported, commit: state.commit)
            return state.commit
        } catch let error as RestoreError where Self.mayRefuseExact(error) || mayBeRetired {
            SimTrace.record("\(label) exact restore refused: \(error)")
        } catch is RestoreFailedOnDamage {
            skippedProbes += 1
        } catch let error as RestoreError {
            if case .positionNotReplicated = error {
                throw InvariantViolation.replicatedCommitLost("\(label): position \(reported.position) was reported replicated, restore says \(error)")
            }
            if !faultsActive { throw InvariantViolation.restoreFailed("\(label) exact \(reported.position): \(error)") }
            skippedProbes += 1
        } catch let violation as InvariantViolation {
            throw violation
        } catch {
            if !faultsActive { throw InvariantViolation.restoreFailed("\(label) exact \(reported.position): \(error)") }
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
