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
/// - **Not from an older generation than one reported by T**: a generation G whose first report
///   came at or before T had a snapshot and WAL by then, so g is not older than G.
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
/// With retention on, for T inside the window `[now - retention, now]` (still inside it when the
/// restore ends) that is at or after a verified report, or in the history of a generation a
/// newer one replaced (after its first report, before the newer one's first snapshot;
/// `RetentionTargets.swift`), the restore to T must *succeed* and
/// pass the bounds above. Store faults excuse a failure, except one for want of history in a
/// complete listing (no snapshot, a missing WAL index or initial segment). A verified report of
/// the current generation reported inside the window must restore exactly to its commit, or be
/// refused only by the planner's documented limit (`positionInsideSnapshotIndex`).
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
        // Invariant 5 by time: a target inside the window, after something was replicated.
        if kinds.contains(.retentionAtTime) {
            try await verifyOlderGeneration(windowStart: windowStart, now: now, label: label)
        }
        if kinds.contains(.retentionAtTime), let range = retentionTargetRange(windowStart: windowStart, now: now) {
            let span = max((range.upperBound - range.lowerBound).milliseconds, 0)
            let inside = range.lowerBound + .milliseconds(Int64(random.next() % UInt64(span + 1)))
            try await restoreToTime(inside, label: "\(label) retention at-time", mustSucceed: true)
        }
        // Invariant 5 in an older generation's history, when a probe aims there alone.
        if kinds.contains(.retentionOlderGeneration) {
            try await verifyOlderGeneration(windowStart: windowStart, now: now, label: label)
            let ranges = olderGenerationRanges(windowStart: windowStart, now: now)
            if !ranges.isEmpty {
                let range = ranges[Int(random.next() % UInt64(ranges.count))]
                let span = max((range.upperBound - range.lowerBound).milliseconds, 0)
                let inside = range.lowerBound + .milliseconds(Int64(random.next() % UInt64(span + 1)))
                try await restoreToTime(inside, label: "\(label) older generation at-time", mustSucceed: true)
            }
        }
        if kinds.contains(.retentionExact) {
            try await retainedPositionProbe(windowStart: windowStart, label: label)
        }
    }

    /// Invariant 5 by position: a verified position of the current generation inside the window
    /// (the second database's, once it reported after a takeover) restores exactly to its commit.
    private func retainedPositionProbe(windowStart: Timestamp, label: String) async throws {
        let source = takeover?.hasReported(at: client.location) == true ? takeover!.log : log
        guard let current = source.replicated[client.location],
            let chosen = source.verified.last(where: {
                $0.report.time >= windowStart && $0.report.position.generation == current.position.generation
            })
        else { return }
        let position = chosen.report.position
        let request = RestoreRequest(
            outputPath: restoreOutput("retained"), generation: position.generation,
            target: .position(index: position.index, offset: position.offset),
            parallelism: 1 + Int(random.next() % 4))
        do {
            let state = try await restoreAndRead(request, label: "\(label) retention exact \(position)")
            guard state.commit == chosen.commit else {
                throw InvariantViolation.retentionLostRestorePoint(
                    "\(label): \(position), reported at \(chosen.report.time) inside the retention window starting \(windowStart), restored commit \(state.commit), before it restored \(chosen.commit)"
                )
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
            throw InvariantViolation.retentionLostRestorePoint(
                "\(label): \(position), reported at \(chosen.report.time) inside the retention window starting \(windowStart), no longer restores: \(error)"
            )
        }
    }

    /// The store's history of this replica's objects.
    var replicaHistory: ReplicaHistory {
        ReplicaHistory(history: store.history, rootPrefix: client.root.isEmpty ? "" : client.root + "/")
    }

    /// Restores to `target` and checks the bounds of invariant 3 and the plan (invariant 8).
    /// With `mustSucceed`, a failure breaks invariant 5 unless store faults are active or the
    /// target left the window while the restore ran (retention may then delete what it needs).
    private func restoreToTime(_ target: Timestamp, label: String, mustSucceed: Bool) async throws {
        let request = RestoreRequest(
            outputPath: restoreOutput("time"), target: .timestamp(target),
            parallelism: 1 + Int(random.next() % 4))
        let restored: RestoredState
        do {
            restored = try await restoreAndReadReport(request, label: "\(label) \(target)")
        } catch let violation as InvariantViolation {
            throw violation
        } catch is RestoreFailedOnDamage {
            return
        } catch {
            if mustSucceed && (!faultsActive || Self.isMissingHistory(error)) && isInsideWindow(target) {
                throw InvariantViolation.retentionLostRestorePoint(
                    "\(label): restore to \(target), inside the retention window and after a replicated position, failed: \(error)"
                )
            }
            SimTrace.record("\(label) \(target): \(error)")
            return
        }
        // A listing that missed lost objects planned from less than the store held.
        if !restored.mayMissPlannedObjects {
            let oracle = TimestampPlanOracle(
                replica: replicaHistory, start: restored.storeMoments.start, end: restored.storeMoments.end)
            if let violation = oracle.violation(target: target, report: restored.report) {
                throw InvariantViolation.planNotExact("\(label): \(violation)")
            }
        }
        try checkPointInTime(target, restored: restored, label: label)
    }

    /// Whether a restore failed because its listing lacked history it planned from: a complete
    /// listing (a failed one throws) without a usable snapshot or with a hole in the WAL. Store
    /// faults never remove objects, so for a target inside the window after a report this is
    /// retention's doing even while they are active.
    static func isMissingHistory(_ error: any Error) -> Bool {
        switch error as? RestoreError {
        case .noBackups, .noSnapshot, .missingWALIndex, .missingInitialSegment: return true
        default: return false
        }
    }

    /// Whether `target` is inside the retention window now (always, without retention). Checked
    /// after a restore: a target inside the window then was inside it for every retention round
    /// the restore could have met.
    private func isInsideWindow(_ target: Timestamp) -> Bool {
        guard let retention = parameters.replication.retention else { return true }
        return target >= SimWallClock(scheduler: scheduler).now() - retention
    }

    /// Invariant 3's bounds for a restore to `target`.
    private func checkPointInTime(_ target: Timestamp, restored: RestoredState, label: String) throws {
        let state = restored.state
        let generation = restored.generation
        let history = restoredHistory(of: state)
        var times: [Timestamp] = []
        if let epoch = history.firstEpochs.first { times.append(log.commitTime(state.commit, epoch: epoch)) }
        if history.isSecond, let second = takeover {
            times.append(second.log.commitTime(state.commit, epoch: second.log.epoch))
        }
        // A state both databases held (commit 0 of an empty table) existed from the earlier time.
        let committed = times.min()!
        guard committed <= target else {
            throw InvariantViolation.pointInTimeWrong(
                "\(label): restore to \(target) holds commit \(state.commit), committed later, at \(committed)")
        }
        // The lower bounds hold only for a listing that showed everything replicated.
        guard isInsideWindow(target), !restored.mayMissLostObjects else { return }
        // A generation reported at or before the target held a snapshot and WAL by then, so the
        // restore may not fall back to an older one (this needs no exact restore of the report).
        let logs = [log] + (takeover.map { [$0.log] } ?? [])
        for source in logs {
            for reports in source.generationReports[client.location] ?? [] where reports.first.time <= target {
                let reported = reports.first.position.generation
                if generation < reported {
                    throw InvariantViolation.pointInTimeWrong(
                        "\(label): restore to \(target) used generation \(generation), older than \(reported), which held \(reports.first.position) reported replicated at \(reports.first.time)"
                    )
                }
            }
        }
        let verifiedReports =
            log.verified.map { (isSecond: false, verified: $0) }
            + (takeover?.log.verified.map { (isSecond: true, verified: $0) } ?? [])
        for (isSecond, verified) in verifiedReports where verified.report.time <= target {
            let reported = verified.report.position.generation
            if generation < reported {
                throw InvariantViolation.pointInTimeWrong(
                    "\(label): restore to \(target) used generation \(generation), older than \(reported), which held \(verified.report.position) (commit \(verified.commit)) reported replicated at \(verified.report.time)"
                )
            }
            let sameHistory =
                generation == reported
                || (isSecond ? history.isSecond : history.firstEpochs.contains(verified.report.epoch))
            if sameHistory && state.commit < verified.commit {
                throw InvariantViolation.pointInTimeWrong(
                    "\(label): restore to \(target) holds commit \(state.commit) of generation \(generation), but \(verified.report.position) (commit \(verified.commit)) was reported replicated at \(verified.report.time)"
                )
            }
        }
        SimTrace.record("\(label) \(target) restored commit", UInt64(state.commit))
    }
}
