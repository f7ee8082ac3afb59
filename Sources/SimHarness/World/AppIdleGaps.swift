import Core

/// The app's pauses between bursts of work, with every connection closed, and the clean restarts
/// of the replicator that fall into them: the restarts that must continue their generation
/// (invariant 7), since the app leaves the database as the replicator left it, or with its WAL
/// checkpointed away when the app's last close found no replicator connected; and, when the app
/// writes during the downtime, the restarts that must not.
extension SimWorld {
    /// One pause: the app closes its connections, maybe the replicator stops cleanly and starts
    /// again a little later (maybe with the app writing meanwhile), then the app reopens.
    func appIdleGap(_ workload: AppWorkload) async throws {
        let clock = scheduler.clock
        let mix = parameters.workload
        appIdle = true
        defer { appIdle = false }
        try? await appAuxiliary?.close()
        appAuxiliary = nil
        await workload.closeConnection()
        let mean = Double(mix.idleGapMean.milliseconds)
        let gap = Duration.milliseconds(Int64(mean * AppWorkload.negativeLog1p(idleRandom.unitInterval() * 0.999)) + 1)
        SimTrace.record("app idle with every connection closed for \(gap)")
        var slept = Duration.zero
        if idleRandom.unitInterval() < mix.idleRestartRate, incarnation != nil {
            let before = gap * idleRandom.unitInterval()
            try await clock.sleep(for: before)
            slept = before
            let downtime = Duration.milliseconds(Int64(idleRandom.next() % 3000))
            let writes = idleRandom.unitInterval() < mix.downtimeWriteRate ? 1 + Int(idleRandom.next() % 5) : 0
            try await restartReplicatorCleanly(after: downtime) {
                if writes > 0 {
                    SimTrace.record("app writes while the replicator is down", UInt64(writes))
                    try await workload.commitBurst(writes, clock: clock)
                }
            }
        }
        if gap > slept { try await clock.sleep(for: gap - slept) }
        try await workload.openConnection()
    }

    /// Stops the running replicator as SIGTERM would (its final sync and stop run), waits for it
    /// to end, runs `whileDown`, and lets the supervisor start a successor `downtime` after the end.
    private func restartReplicatorCleanly(after downtime: Duration, whileDown: () async throws -> Void) async throws {
        guard let current = incarnation, !current.client.isKilled else { return }
        SimTrace.record("stop replicator cleanly for \(downtime) \(current.node.process)")
        current.restartAfter = downtime
        current.task.cancel()
        while incarnation === current { try await scheduler.clock.sleep(for: .milliseconds(10)) }
        try await whileDown()
    }
}
