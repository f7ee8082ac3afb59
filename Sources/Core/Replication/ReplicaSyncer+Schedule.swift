/// When a replica with nothing to upload next has work of its own: how long its loop may wait.
extension ReplicaSyncer {
    /// Time until the next scheduled snapshot or retention check falls due; zero when one is due
    /// or cannot be known without an attempt; nil when nothing is scheduled.
    ///
    /// A snapshot already taken at the database's current position is not pending however late
    /// the schedule is: `snapshotIfDue` skips it until new frames arrive, and those wake the loop
    /// anyway. Counting it would have an idle replica wake at every chance to skip it.
    func timeUntilScheduledWork() async -> Duration? {
        let now = environment.wallClock.now()
        var soonest: Duration?
        func consider(_ wait: Duration) { soonest = min(soonest ?? wait, wait) }
        if let interval = options.snapshotInterval, interval > .zero {
            if !snapshotTimeKnown {
                consider(.zero)
            } else if await isSnapshotPending(),
                let due = SnapshotSchedule.nextSnapshot(after: lastSnapshotTime, interval: interval, now: now)
            {
                consider(due > now ? due - now : .zero)
            }
        }
        if let retention = options.retention {
            let every = min(options.retentionCheckInterval, retention)
            if let last = lastRetention {
                let due = last + every
                consider(due > now ? due - now : .zero)
            } else {
                consider(.zero)
            }
        }
        return soonest
    }

    /// Whether the database moved since this syncer's last snapshot began (or none did here).
    private func isSnapshotPending() async -> Bool {
        guard let lastSnapshotSource else { return true }
        return await database.position != lastSnapshotSource
    }

    /// How long the loop waits for new frames before its next attempt: until the next scheduled
    /// work, but at least `idleSyncInterval` (a schedule whose attempt did nothing, a snapshot
    /// that waits for a checkpoint, would otherwise spin) and at most `longestIdleWait`.
    func idleWait() async -> Duration {
        let longest = max(options.longestIdleWait, options.idleSyncInterval)
        let scheduled = await timeUntilScheduledWork() ?? longest
        return min(max(scheduled, options.idleSyncInterval), longest)
    }
}
