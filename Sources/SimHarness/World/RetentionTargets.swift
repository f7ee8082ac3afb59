import Core

/// Where retention probes aim (invariant 5): inside the window, after something was replicated,
/// and where the window still reaches into a generation a newer one has replaced, into that
/// generation's history. Those times are the ones only retention's handling of older generations
/// keeps restorable: a restore to them uses the older generation, so an older generation trimmed
/// or deleted wrongly fails them (Litestream #251's wrong floor, for one).
extension SimWorld {
    /// The range a retention at-time probe draws its target from, or nil if nothing inside the
    /// window was replicated. When the window holds a report of a generation that a newer one
    /// replaced later (the newer one's first snapshot landed after it), one such report is
    /// drawn, verified or not (the last report of each generation, and every verified one), and
    /// the range runs from it to just before that snapshot. Otherwise it runs from the last
    /// verified report to now.
    func retentionTargetRange(windowStart: Timestamp, now: Timestamp) -> ClosedRange<Timestamp>? {
        let firstSnapshots = replicaHistory.firstSnapshotTimes()
        let reports = log.verified.map(\.report) + (log.generationReports[client.location] ?? []).map(\.last)
        var older: [ClosedRange<Timestamp>] = []
        for report in reports where report.time >= windowStart && report.time <= now {
            let generation = report.position.generation
            guard let replaced = firstSnapshots.filter({ $0.generation > generation }).map(\.time).min() else { continue }
            let end = min(replaced - .milliseconds(1), now)
            if end >= report.time { older.append(report.time ... end) }
        }
        if !older.isEmpty { return older[Int(random.next() % UInt64(older.count))] }
        guard let last = log.verified.last(where: { $0.report.time >= windowStart && $0.report.time <= now }) else { return nil }
        return last.report.time ... now
    }

    /// Restores exactly one unverified last report of a replaced generation, reported inside the
    /// window, so that a restore into that generation's history has a commit to be held to
    /// (probes verify only the current report; an older generation's last one is otherwise
    /// never verified). A refusal leaves it unverified: the restore to a time after it must
    /// still succeed.
    func verifyOlderGeneration(windowStart: Timestamp, now: Timestamp, label: String) async throws {
        let firstSnapshots = replicaHistory.firstSnapshotTimes()
        let candidates = (log.generationReports[client.location] ?? []).map(\.last).filter { report in
            guard report.time >= windowStart, report.time <= now, !log.isVerified(report) else { return false }
            return firstSnapshots.contains { $0.generation > report.position.generation && $0.time > report.time }
        }
        guard !candidates.isEmpty else { return }
        let chosen = candidates[Int(random.next() % UInt64(candidates.count))]
        SimTrace.record("\(label) verifies generation \(chosen.position.generation)'s last report \(chosen.position)")
        _ = try await verifyExactly(chosen, label: "\(label) older generation", output: "/restore/older-\(probes).db")
    }
}
