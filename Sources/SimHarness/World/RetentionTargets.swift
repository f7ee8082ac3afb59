import Core

/// Where retention probes aim (invariant 5): inside the window, after something was replicated,
/// and where the window still reaches into the history of a generation a newer one replaced,
/// into that history. A restore to such a time uses the older generation, so it fails, or falls
/// back further, when retention trimmed or deleted that generation wrongly (Litestream #251's
/// floor taken from another generation, for one); only retention's handling of older
/// generations keeps those times restorable.
extension SimWorld {
    /// The range a retention at-time probe draws its target from, or nil if nothing inside the
    /// window was replicated: one of `olderGenerationRanges` if there are any, otherwise from
    /// the last verified report inside the window to now.
    func retentionTargetRange(windowStart: Timestamp, now: Timestamp) -> ClosedRange<Timestamp>? {
        let older = olderGenerationRanges(windowStart: windowStart, now: now)
        if !older.isEmpty { return older[Int(random.next() % UInt64(older.count))] }
        // After a takeover, the later of the two databases' last reports.
        let inWindow = { (verified: CommitLog.VerifiedReport) in
            verified.report.time >= windowStart && verified.report.time <= now
        }
        let anchors = [log.verified.last(where: inWindow), takeover?.log.verified.last(where: inWindow)].compactMap {
            $0
        }
        guard let last = anchors.max(by: { $0.report.time < $1.report.time }) else { return nil }
        return last.report.time...now
    }

    /// For each reported generation that a newer one replaced (the newer one's first snapshot
    /// landed), the part of the window in its history: from the window start or its first
    /// report, whichever is later, to just before that snapshot. A restore to a time in it uses
    /// that generation (or a newer one the oracle does not know of), and something was
    /// replicated by then, so it must succeed.
    func olderGenerationRanges(windowStart: Timestamp, now: Timestamp) -> [ClosedRange<Timestamp>] {
        // After a takeover the second replicator's retention may remove the first's generations
        // (its history is superseded; `verifyExactly` lets such refusals pass too).
        guard takeover?.tookOverAt == nil else { return [] }
        let firstSnapshots = replicaHistory.firstSnapshotTimes()
        var ranges: [ClosedRange<Timestamp>] = []
        for reports in log.generationReports[client.location] ?? [] {
            let generation = reports.first.position.generation
            guard let replaced = firstSnapshots.filter({ $0.generation > generation }).map(\.time).min() else {
                continue
            }
            let start = max(windowStart, reports.first.time)
            let end = min(replaced - .milliseconds(1), now)
            if start <= end { ranges.append(start...end) }
        }
        return ranges
    }

    /// Restores exactly one unverified last report of a replaced generation, reported inside the
    /// window, so that a restore into that generation's history has a commit to be held to
    /// (probes verify only the current report; an older generation's last one is otherwise
    /// never verified). A refusal leaves it unverified: the restore to a time after it must
    /// still succeed.
    func verifyOlderGeneration(windowStart: Timestamp, now: Timestamp, label: String) async throws {
        guard takeover?.tookOverAt == nil else { return }
        let firstSnapshots = replicaHistory.firstSnapshotTimes()
        let candidates = (log.generationReports[client.location] ?? []).map(\.last).filter { report in
            guard report.time >= windowStart, report.time <= now, !log.isVerified(report) else { return false }
            return firstSnapshots.contains { $0.generation > report.position.generation && $0.time > report.time }
        }
        guard !candidates.isEmpty else { return }
        let chosen = candidates[Int(random.next() % UInt64(candidates.count))]
        SimTrace.record("\(label) verifies generation \(chosen.position.generation)'s last report \(chosen.position)")
        // Retention may lawfully delete the generation while the restore runs (a slow restore under
        // listing stalls, default seed 50): once the window start passes the newer generation's
        // first snapshot, no time inside the window needs the older one.
        let replacedAt = firstSnapshots.filter { $0.generation > chosen.position.generation }.map(\.time).min()
        let retention = parameters.replication.retention
        let wallClock = SimWallClock(scheduler: scheduler)
        let leftWindow = { () -> Bool in
            guard let replacedAt, let retention else { return false }
            return wallClock.now() - retention > replacedAt
        }
        _ = try await verifyExactly(
            chosen, label: "\(label) older generation", output: restoreOutput("older"), retiredDuring: leftWindow)
    }
}
