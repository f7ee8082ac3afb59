import Core
import SQLite

/// The app under its own supervisor, app kills, whole-machine power losses and the replicator's
/// disk-fault windows, at seeded times.
extension SimWorld {
    /// One event of the chaos schedule.
    enum ChaosEvent: Int, Comparable {
        case killReplicator, killApp, powerLoss, noSpaceStart, noSpaceEnd

        static func < (lhs: ChaosEvent, rhs: ChaosEvent) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// Runs the app workload, and again on the recovered database each time the app is killed or
    /// the machine loses power, until `end`.
    /// Without `idleGaps` the app never pauses (the healed window: idle gaps and their restarts
    /// are a fault class).
    func appLoop(until end: Duration, clock: SimClock, idleGaps: Bool = true) async throws {
        while true {
            let current = workload
            current.idleGap = idleGaps ? { [unowned self] in try await self.appIdleGap($0) } : nil
            let task = scheduler.spawner.spawn { try await current.run(until: end, clock: clock) }
            appTask = task
            let result = await withTaskCancellationHandler {
                await task.result
            } onCancel: {
                task.cancel()
            }
            appTask = nil
            if Task.isCancelled { return }
            // Killed: wait for the restarted app (the chaos task reopens it at once).
            if current !== workload || appDown {
                while appDown { try await clock.sleep(for: .milliseconds(10)) }
                continue
            }
            try result.get()
            return
        }
    }

    /// The chaos schedule of the seed: events at uniform times inside the span, in time order.
    func chaosSchedule(span: Duration) -> [(Duration, ChaosEvent)] {
        let chaos = parameters.chaos
        var events: [(Duration, ChaosEvent)] = []
        let spanMicroseconds = UInt64(max(span.milliseconds, 1_000)) * 1000
        func time() -> Duration { .microseconds(Int64(500_000 + chaosRandom.next() % (spanMicroseconds - 500_000))) }
        for _ in 0..<chaos.replicatorKills { events.append((time(), .killReplicator)) }
        for _ in 0..<chaos.appKills { events.append((time(), .killApp)) }
        for _ in 0..<chaos.powerLosses { events.append((time(), .powerLoss)) }
        for _ in 0..<chaos.noSpaceWindows {
            let start = time()
            let length = Duration.milliseconds(
                Int64(100 + chaosRandom.next() % UInt64(max(chaos.noSpaceDuration.milliseconds, 101))))
            events.append((start, .noSpaceStart))
            events.append((min(start + length, span), .noSpaceEnd))
        }
        return events.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
    }

    func chaosLoop(until end: Duration, clock: SimClock) async throws {
        for (time, event) in chaosSchedule(span: end) {
            if time > clock.now.offset { try await clock.sleep(for: time - clock.now.offset) }
            switch event {
            case .killReplicator: killReplicator("scheduled")
            case .killApp: try await killApp()
            case .powerLoss:
                if chaosRandom.unitInterval() < parameters.chaos.powerLossInCheckpointRate {
                    try await powerLossInCheckpoint()
                } else {
                    try await powerLoss("scheduled")
                }
            case .noSpaceStart:
                SimTrace.record("replicator disk full")
                fileFaults.noSpace = true
            case .noSpaceEnd:
                SimTrace.record("replicator disk has space again")
                fileFaults.noSpace = false
            }
        }
    }

    /// Makes the freshly created database durable, as a database that existed long before the
    /// run would be: fsyncs its files and their directory from a process of its own (closing a
    /// descriptor in the app's process would drop SQLite's locks). Without it a power loss
    /// before SQLite's first WAL sync loses the schema itself.
    func makeSetUpDurable() async throws {
        let process = app.disk.startProcess(named: "setup-sync")
        let fileSystem = SimFileSystem(disk: app.disk, process: process)
        for path in [Self.databasePath, Self.databasePath + "-wal"] where try await fileSystem.stat(path) != nil {
            let handle = try await fileSystem.open(path, mode: .readWrite)
            try await handle.sync()
            try await handle.close()
        }
        try await fileSystem.syncDirectory("/")
        app.disk.kill(process)
    }

    /// Faults heal for the liveness phase.
    func healChaos() {
        fileFaults.errorRate = 0
        fileFaults.noSpace = false
    }

    /// kill -9 of the app alone: its locks and descriptors go, the page cache keeps every byte it
    /// wrote, so the restarted app must find exactly the last commit (invariant 4).
    func killApp() async throws {
        guard !appDown else { return }
        appDown = true
        SimTrace.record("kill app \(app.process)")
        app.disk.kill(app.process)
        appTask?.cancel()
        let old = workload
        await old.close()
        try await restartApp(afterPowerLoss: false)
        workload.inherit(busyRetries: old.busyRetries)
        appDown = false
    }

    /// Power loss of the whole app machine: both processes die, the disk keeps what its crash
    /// model lets survive, the app reopens (SQLite recovers the WAL) and the commit log is cut to
    /// the commit the recovered database holds; the supervisor restarts the replicator.
    func powerLoss(_ reason: String) async throws {
        guard !appDown else { return }
        appDown = true
        powerLosses += 1
        SimTrace.record("power loss (\(reason)), last commit", UInt64(log.lastCommit))
        generations.note("power loss (\(reason))")
        killReplicator("power loss")
        appTask?.cancel()
        app.disk.crash(random: chaosRandom, model: parameters.chaos.crashModel)
        let old = workload
        await old.close()
        try await restartApp(afterPowerLoss: true)
        workload.inherit(busyRetries: old.busyRetries)
        appDown = false
    }

    /// Cuts the power a few disk mutations into an app checkpoint (run from a second connection
    /// of the app), so the crash lands inside SQLite's checkpoint: database pages half copied,
    /// the WAL not yet reset. When the checkpoint finishes before the cut, the power goes at once.
    func powerLossInCheckpoint() async throws {
        guard !appDown else { return }
        let disk = app.disk
        let mode = CheckpointMode.allCases[Int(chaosRandom.next() % 4)]
        let mutations = 1 + Int(chaosRandom.next() % 24)
        var faults = disk.faults
        faults.crashAfterMutations = disk.mutationCount + mutations
        let connection = try await app.open(Self.databasePath)
        disk.faults = faults
        let outcome: String
        do {
            let result = try await connection.checkpoint(mode)
            outcome = "done busy=\(result.busy) frames=\(result.walFrames)/\(result.checkpointedFrames)"
        } catch {
            outcome = "\(error)"
        }
        let cut = disk.isHalted
        faults.crashAfterMutations = nil
        disk.faults = faults
        SimTrace.record(
            "app checkpoint \(mode) with power cut after \(mutations) mutations: \(cut ? "cut" : "not reached"); \(outcome)"
        )
        if !cut { try? await connection.close() }
        try await powerLoss(cut ? "inside checkpoint \(mode)" : "after checkpoint \(mode)")
    }

    /// Starts a new app process on the app disk, checks what it finds and hands the workload the
    /// recovered database.
    private func restartApp(afterPowerLoss: Bool) async throws {
        appRestarts += 1
        retiredNodes.append(app)
        app = try SimNode(disk: app.disk, name: "app-\(appRestarts + 1)", scheduler: scheduler)
        appAuxiliary = nil
        let connection = try await app.open(Self.databasePath)
        let state: DatabaseState
        do {
            let integrity = try await connection.query("PRAGMA integrity_check").first?.first?.textValue
            guard integrity == "ok" else {
                throw InvariantViolation.sourceHarmed(
                    "after \(afterPowerLoss ? "power loss" : "an app kill") integrity_check says \(integrity ?? "nothing")"
                )
            }
            state = try await DatabaseState.read(connection)
            try await connection.close()
        } catch let violation as InvariantViolation {
            throw violation
        } catch {
            throw InvariantViolation.sourceHarmed(
                "after \(afterPowerLoss ? "power loss" : "an app kill") the app cannot read its database: \(error)")
        }
        let expected = afterPowerLoss ? 0...log.lastCommit : log.lastCommit...log.lastCommit
        guard expected.contains(state.commit), log.digests[state.commit] == state.digest else {
            throw InvariantViolation.sourceHarmed(
                "after \(afterPowerLoss ? "power loss" : "an app kill") the database holds commit \(state.commit) with \(state.digest); the app had committed \(log.lastCommit)\(expected.contains(state.commit) ? ", and commit \(state.commit) held \(log.digests[state.commit])" : "")"
            )
        }
        SimTrace.record("app restarted at commit \(state.commit) of", UInt64(log.lastCommit))
        if afterPowerLoss {
            log.cut(to: state.commit)
            if restoredHighWater.epoch != log.epoch { restoredHighWater = (log.epoch, 0) }
        }
        let next = AppWorkload(
            node: app, path: Self.databasePath, mix: parameters.workload, log: log,
            random: scheduler.randomSource("workload-\(appRestarts + 1)"), preemption: appPreemption)
        try await next.reopen(expecting: state)
        next.stopRequested = appRetired
        workload = next
    }
}
