import Core

/// Invariants 3 (point-in-time restore) and 5 (retention), checked by each probe.
///
/// ### What a timestamp restore promises (invariant 3), precisely
/// `RestorePlanner` reads times from the replica's listing: a timestamp target T takes the
/// newest generation with a snapshot uploaded at or before T, its newest such snapshot, and the
/// WAL segments up to (not including) the first one uploaded after T. Upload times are object
/// creation times in milliseconds, so T is as fine-grained as one uploaded segment. The oracle
/// therefore checks, for a restore to T that succeeds with commit n of generation g:
///
/// - **Never later than T**: commit n had returned to the app at or before T (a segment holds
///   only commits made before it was uploaded, and the snapshot only commits before it was read).
/// - **Not earlier than what was replicated by T**: for every reported position P (generation G)
///   that a probe restored exactly to commit c, reported at time R <= T (so every object it
///   needs was uploaded by R): g is not older than G; if g == G, n >= c; if g is newer and n
///   belongs to the same source history (no power loss cut commits in between), n >= c.
///   This lower bound only holds while T is inside the retention window (retention may delete
///   what a restore to an older time needs; then the restore may also fail).
/// - Failing explicitly (an error) is always allowed for invariant 3.
///
/// After a lease takeover the replica holds two databases' histories: a restore is matched to
/// the one that holds its state (commit times from that database's log), and the lower bounds
/// run over both databases' verified reports; a report of the other database bounds only the
/// generation.
///
/// ### Invariant 5
/// With retention on, for T inside the window `[now - retention, now]` that is at or after a
/// verified report, the restore to T must *succeed* (unless store faults are active) and pass
/// the bounds above; and a verified report of the current generation reported inside the window
/// must restore exactly to its commit, or be refused only by the planner's documented limit
/// (`positionInsideSnapshotIndex`).
extension SimWorld {
    /// Runs the point-in-time and retention restores among `kinds`.
    func pointInTimeProbes(label: String, kinds: [ProbeKind]) async throws {
        let now = SimWallClock(scheduler: scheduler).now()
        if kinds.contains(.atTime) {
            let origin = SimWallClock.defaultEpoch
            let elapsed = max((now - origin).milliseconds, 1)
            let target = origin + .milliseconds(Int64(random.next() % UInt64(elapsed + 1)))
            try await restoreToTime(target, label: "\(label) at-time", mustSucceed: false)
        }

        guard let retention = parameters.replication.retention else { return }
        let windowStart = now - retention
        // Invariant 5 by time: a target inside the window, after something was replicated (by
        // either database of a takeover).
        let inWindow = { (verified: CommitLog.VerifiedReport) in verified.report.time >= windowStart && verified.report.time <= now }
        let anchors = [log.verified.last(where: inWindow), takeover?.log.verified.last(where: inWindow)].compactMap { $0 }
        if kinds.contains(.retentionAtTime), let anchor = anchors.max(by: { $0.report.time < $1.report.time }) {
            let span = max((now - anchor.report.time).milliseconds, 0)
            let inside = anchor.report.time + .milliseconds(Int64(random.next() % UInt64(span + 1)))
            try await restoreToTime(inside, label: "\(label) retention at-time", mustSucceed: true)
        }
        // Invariant 5 by position: a verified position of the current generation inside the window
        // (the second database's, once it reported after a takeover).
        let source = takeover?.hasReported(at: client.location) == true ? takeover!.log : log
        if kinds.contains(.retentionExact), let current = source.replicated[client.location],
           let chosen = source.verified.last(where: { $0.report.time >= windowStart && $0.report.position.generation == current.position.generation }) {
            let position = chosen.report.position
            let request = RestoreRequest(outputPath: "/restore/retained-\(probes).db", generation: position.generation,
                                         target: .position(index: position.index, offset: position.offset),
                                         parallelism: 1 + Int(random.next() % 4))
            do {
                let state = try await restoreAndRead(request, label: "\(label) retention exact \(position)")
                guard state.commit == chosen.commit else {
                    throw InvariantViolation.retentionLostRestorePoint("\(label): \(position), reported at \(chosen.report.time) inside the retention window starting \(windowStart), restored commit \(state.commit), before it restored \(chosen.commit)")
                }
            } catch RestoreError.positionInsideSnapshotIndex {
                SimTrace.record("\(label) retention exact \(position): inside the snapshot's index")
            } catch is RestoreFailedOnDamage {
                skippedProbes += 1
            } catch let violation as InvariantViolation {
                throw violation
            } catch {
                if faultsActive {
                    skippedProbes += 1
                    return
                }
                throw InvariantViolation.retentionLostRestorePoint("\(label): \(position), reported at \(chosen.report.time) inside the retention window starting \(windowStart), no longer restores: \(error)")
            }
        }
    }

    /// Restores to `target` and checks the bounds of invariant 3.
    private func restoreToTime(_ target: Timestamp, label: String, mustSucceed: Bool) async throws {
        let now = SimWallClock(scheduler: scheduler).now()
        let insideWindow = parameters.replication.retention.map { target >= now - $0 } ?? true
        let request = RestoreRequest(outputPath: "/restore/time-\(probes).db", target: .timestamp(target),
                                     parallelism: 1 + Int(random.next() % 4))
        let restored: RestoredState
        do {
            restored = try await restoreAndReadReport(request, label: "\(label) \(target)")
        } catch let violation as InvariantViolation {
            throw violation
        } catch is RestoreFailedOnDamage {
            return
        } catch {
            if mustSucceed && !faultsActive {
                throw InvariantViolation.retentionLostRestorePoint("\(label): restore to \(target), inside the retention window and after a replicated position, failed: \(error)")
            }
            SimTrace.record("\(label) \(target): \(error)")
            return
        }
        let state = restored.state
        let history = restoredHistory(of: state)
        var times: [Timestamp] = []
        if let epoch = history.firstEpochs.first { times.append(log.commitTime(state.commit, epoch: epoch)) }
        if history.isSecond, let second = takeover { times.append(second.log.commitTime(state.commit, epoch: second.log.epoch)) }
        // A state both databases held (commit 0 of an empty table) existed from the earlier time.
        let committed = times.min()!
        guard committed <= target else {
            throw InvariantViolation.pointInTimeWrong("\(label): restore to \(target) holds commit \(state.commit), committed later, at \(committed)")
        }
        // The lower bounds hold only for a listing that showed everything replicated.
        guard insideWindow, !restored.mayMissLostObjects else { return }
        let verifiedReports = log.verified.map { (isSecond: false, verified: $0) } + (takeover?.log.verified.map { (isSecond: true, verified: $0) } ?? [])
        for (isSecond, verified) in verifiedReports where verified.report.time <= target {
            let reported = verified.report.position.generation
            if restored.generation < reported {
                throw InvariantViolation.pointInTimeWrong("\(label): restore to \(target) used generation \(restored.generation), older than \(reported), which held \(verified.report.position) (commit \(verified.commit)) reported replicated at \(verified.report.time)")
            }
            let sameHistory = restored.generation == reported
                || (isSecond ? history.isSecond : history.firstEpochs.contains(verified.report.epoch))
            if sameHistory && state.commit < verified.commit {
                throw InvariantViolation.pointInTimeWrong("\(label): restore to \(target) holds commit \(state.commit) of generation \(restored.generation), but \(verified.report.position) (commit \(verified.commit)) was reported replicated at \(verified.report.time)")
            }
        }
        SimTrace.record("\(label) \(target) restored commit", UInt64(state.commit))
    }
}
