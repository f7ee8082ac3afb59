import Core

/// The healed window of the liveness phase: the app writes on past the span with every fault
/// healed, and the replicator must keep up within the bounds `LivenessBounds` states from the
/// seed's parameters (replica lag, scheduled snapshots, source WAL).
extension SimWorld {
    /// Runs the app for the bounds' settle time and window after the span (faults are already
    /// healed), then checks the three bounds over the window. Not run in a lease-takeover seed:
    /// its first app has stopped and the second machine's app is not driven past the span.
    func healedWindow(_ bounds: LivenessBounds, clock: SimClock) async throws {
        // From the heal: the span's last probes and long readers may end it past the span.
        let windowStart = clock.now.offset + bounds.settle
        let windowEnd = windowStart + bounds.window
        SimTrace.record("healed window from \(windowStart) to \(windowEnd)")
        // Frames are recorded from the heal on: the window's first checks need the app's
        // writes before it as their baseline.
        log.walFrames = []
        log.replicatorPaused = { [replicatorPreemption] in replicatorPreemption?.paused ?? .zero }
        let app = scheduler.spawner.spawn { try await self.appLoop(until: windowEnd, clock: clock, idleGaps: false) }
        try await clock.sleep(for: windowStart - clock.now.offset)
        let start = SimWallClock(scheduler: scheduler).now()
        try await clock.sleep(for: windowEnd - clock.now.offset)
        let end = SimWallClock(scheduler: scheduler).now()
        // The lag bound: a restore to latest begun now holds every commit made `lag` ago.
        let due = log.commitTimes.lastIndex { $0 <= end - bounds.lag } ?? 0
        let restored = try await probe("healed window", final: true, kinds: [.latest])
        try await app.value
        let frames = log.walFrames ?? []
        log.walFrames = nil
        guard restored >= due else {
            let behind = end - log.commitTimes[restored + 1]
            throw InvariantViolation.replicaLagging(
                "at the healed window's end the replica restores commit \(restored) "
                    + "(commit \(restored + 1) is \(behind) old), bound \(bounds.lag) from pass, monitor and sync intervals"
            )
        }
        let inWindow = frames.filter { $0.time >= start }
        SimTrace.record(
            "healed window: \(inWindow.count) commits, the WAL's lifetime at most \(inWindow.map(\.frames).max() ?? 0) frames, "
                + "lag bound \(bounds.lag), WAL delay \(bounds.walDelay), replicator paused "
                + "\((inWindow.last?.replicatorPaused ?? .zero) - (inWindow.first?.replicatorPaused ?? .zero))",
            UInt64(restored))
        if let bound = bounds.snapshotGap {
            let writes = await store.statistics.snapshotWrites
            let gap = Self.longestGap(between: writes, start: start, span: end - start)
            SimTrace.record("healed window: longest snapshot gap \(gap), bound \(bound)")
            guard gap <= bound else {
                throw InvariantViolation.snapshotLate(
                    "\(gap) without a snapshot in the healed window "
                        + "(\(bounds.window) from \(windowStart) after the start), bound \(bound) for a \(parameters.replication.snapshotInterval!) interval"
                )
            }
        }
        try Self.checkWALFrames(frames, from: start, bounds: bounds)
    }

    /// The WAL bound: after each commit in the window the current lifetime holds at most the
    /// checkpoint threshold plus the frames the app wrote in the last `walDelay` (a lifetime
    /// older than that was past the threshold for at most `walDelay`, or had been restarted).
    /// Time the replicator spent in preemption pauses does not count towards `walDelay`: the
    /// pauses model a slow machine, and a pass that reads a large WAL in small chunks makes
    /// hundreds of calls, any of which may pause (default seed 456: 3 s pauses at 4 KiB reads).
    static func checkWALFrames(
        _ samples: [CommitLog.WALSample], from start: Timestamp,
        bounds: LivenessBounds
    ) throws {
        // Frames the app appended by each sample: a drop is a restarted WAL.
        var written: [Int] = []
        var total = 0
        var previous = 0
        for sample in samples {
            total += sample.frames >= previous ? sample.frames - previous : sample.frames
            previous = sample.frames
            written.append(total)
        }
        var base = 0
        for (index, sample) in samples.enumerated() where sample.time >= start {
            // The last sample at or before `walDelay` ago is the baseline: lenient by a commit.
            while base + 1 < index,
                (sample.time - samples[base + 1].time) - (sample.replicatorPaused - samples[base + 1].replicatorPaused)
                    >= bounds.walDelay
            {
                base += 1
            }
            let recent = written[index] - written[base]
            let bound = bounds.walThresholdFrames + recent
            guard sample.frames <= bound else {
                throw InvariantViolation.walRunaway(
                    "the source WAL holds \(sample.frames) frames in the healed window, "
                        + "bound \(bound): threshold \(bounds.walThresholdFrames) plus \(recent) written since \(sample.time - samples[base].time) ago "
                        + "(\(bounds.walDelay) not counting the replicator's preemption pauses), \(sample.time - start) into the window"
                )
            }
        }
    }
}
