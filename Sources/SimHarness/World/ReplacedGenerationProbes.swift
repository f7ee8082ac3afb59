import Core

/// Retention probes aimed at a generation a newer one replaced (invariant 5).
///
/// A replaced generation's history stays inside the retention window for `retention` after the
/// newer generation's first snapshot, and that is when retention must keep it whole or trim it
/// by its own snapshots only: once the window start has passed the old generation's last
/// snapshot it holds no snapshot inside the window, yet restores to the window start still use
/// it. Interim probes fall there only by chance, so this loop watches the store for a new
/// generation's first snapshot and probes once, late in that stretch (after half the window,
/// so that retention has run with the window start past the old generation's snapshots), with
/// a target in the old generation's history.
extension SimWorld {
    /// Runs until `end` (offset on the simulated clock); does nothing without retention.
    func replacedGenerationProbes(until end: Duration, clock: SimClock) async throws {
        guard let retention = parameters.replication.retention else { return }
        let random = scheduler.randomSource("replaced-generation-probes")
        let replica = replicaHistory
        var keysSeen = 0
        var generations: Set<Generation> = []
        while clock.now.offset < end {
            try await clock.sleep(for: .seconds(1))
            let (keys, total) = store.history.keys(firstWrittenAfter: keysSeen)
            keysSeen = total
            var replaced = false
            for key in keys {
                guard let generation = replica.generation(ofSnapshotKey: key), !generations.contains(generation) else {
                    continue
                }
                replaced = replaced || !generations.isEmpty
                generations.insert(generation)
            }
            guard replaced else { continue }
            let half = max(retention.milliseconds / 2, 1)
            let delay = Duration.milliseconds(half + Int64(random.next() % UInt64(half)))
            try await clock.sleep(for: min(delay, end - clock.now.offset))
            try await probe("replaced", final: true, kinds: [.retentionOlderGeneration])
        }
    }
}
