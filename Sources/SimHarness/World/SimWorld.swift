import Core
import Logging
import SQLite

/// One seed's world: the app machine (a disk shared by the app and the replicator process), the
/// object store holding the replica, and a separate restore machine. `run()` drives the real
/// `Replicator` against a seeded app workload, probes restores with the real `Restorer` at
/// random times, then heals faults and checks that replication catches up. The oracle throws an
/// `InvariantViolation` at the first broken promise.
final class SimWorld: @unchecked Sendable {
    static let databasePath = "/db"
    /// Simulated time the replicator gets, after the app stops and faults heal, to hold the
    /// final commit on the replica: the retry backoff's cap (60 s) plus the longest stall.
    static let catchUpBound: Duration = .seconds(150)

    let scheduler: SimScheduler
    let parameters: SwarmParameters
    let log = CommitLog()
    let store: SimObjectStore
    let client: SimReplicaClient
    /// The app's process on the app machine; replaced when the app restarts.
    var app: SimNode
    var replicatorNode: SimNode
    let logLevel: Logger.Level
    var replicatorStarts = 0
    let restoreNode: SimNode
    var workload: AppWorkload
    var random: SplitMix64
    var faultsActive: Bool
    var probes = 0
    var skippedProbes = 0
    /// Restores so far, numbering their output files: probes can overlap (see
    /// `ReplacedGenerationProbes.swift`), so a probe's number does not name a file alone.
    var restoreOutputs = 0
    /// The highest commit any restore to latest has shown in the current epoch: a later one may
    /// not show less (a power loss that cuts commits starts the count again).
    var restoredHighWater = (epoch: 0, commit: 0)
    /// The running replicator process, if any (see `ReplicatorChaos.swift`).
    var incarnation: ReplicatorIncarnation?
    /// The replicator's own disk faults (EIO, ENOSPC windows).
    let fileFaults: FileFaultSwitch
    /// Seeded draws of the chaos classes: event times, crash cuts.
    var chaosRandom: SplitMix64
    /// Nodes of dead processes, unregistered when the run ends.
    var retiredNodes: [SimNode] = []
    /// True while the app machine is down or the app restarts.
    var appDown = false
    var appRestarts = 0
    var powerLosses = 0
    /// Whether a kill or power loss has ended a replicator process: its lease then blocks the
    /// successor until it expires, so the successor may exit with `LeaseError.held`.
    var replicatorWasKilled = false
    let registerDefaultVFS: Bool
    /// The app workload's running task, cancelled when the app dies.
    var appTask: Task<Void, any Error>?
    /// The app's second connection (long readers, VACUUM, checkpoints), in the current process.
    var appAuxiliary: (any SQLiteConnection)?

    init(scheduler: SimScheduler, parameters: SwarmParameters, registerDefaultVFS: Bool, logLevel: Logger.Level) throws {
        self.scheduler = scheduler
        self.parameters = parameters
        self.logLevel = logLevel
        self.registerDefaultVFS = registerDefaultVFS
        let wallClock = SimWallClock(scheduler: scheduler)
        let appDisk = SimDisk(wallClock: { wallClock.now() })
        app = try SimNode(disk: appDisk, name: "app", scheduler: scheduler, asDefault: registerDefaultVFS)
        replicatorNode = try SimNode(disk: appDisk, name: "replicator", scheduler: scheduler,
                                     logger: SimLogHandler.logger(label: "replicator", logLevel: logLevel))
        restoreNode = try SimNode(disk: SimDisk(wallClock: { wallClock.now() }), name: "restore", scheduler: scheduler,
                                  logger: SimLogHandler.logger(label: "restore", logLevel: logLevel))
        store = SimObjectStore(scheduler: scheduler, faults: parameters.storeFaults)
        client = SimReplicaClient(store: store, root: "replica", writeLayout: parameters.replication.layout)
        workload = AppWorkload(node: app, path: Self.databasePath, mix: parameters.workload, log: log,
                               random: scheduler.randomSource("workload"))
        random = scheduler.randomSource("probes")
        faultsActive = parameters.storeFaults != .none
        fileFaults = FileFaultSwitch(errorRate: parameters.chaos.replicatorIOErrorRate,
                                     random: scheduler.randomSource("replicator-disk-faults"))
        chaosRandom = scheduler.randomSource("chaos")
        log.wallClock = { wallClock.now() }
    }

    /// What a passing run did, for the summary.
    struct Outcome {
        var commits: Int
        var probes: Int
        var skippedProbes: Int
        var busyRetries: Int
        var replicatorStarts: Int
        var storeStatistics: SimObjectStore.Statistics
        var appRestarts = 0
        var powerLosses = 0
        var largestWAL: Int64 = 0
        var longestSnapshotGap: Duration?
    }

    /// The longest stretch of the app's span without a snapshot landing on the replica: from the
    /// start to the first, between two, or from the last to the span's end. Nil for a seed that
    /// takes no scheduled snapshots. Not an invariant (a replica that cannot keep up with its
    /// store may fall behind its schedule); the figure that showed snapshots starving under
    /// store errors and flaky disks (docs/simulation.md).
    static func longestGap(between writes: [Timestamp], start: Timestamp, span: Duration) -> Duration {
        let end = start + span
        var longest = Duration.zero
        var previous = start
        for time in writes where time > start && time <= end {
            longest = max(longest, time - previous)
            previous = time
        }
        return max(longest, end - previous)
    }

    func run() async throws -> Outcome {
        defer {
            // Connections first, while the VFSs they call on close are alive.
            incarnation = nil
            appTask = nil
            appAuxiliary = nil
            app.shutdown()
            replicatorNode.shutdown()
            restoreNode.shutdown()
            for node in retiredNodes { node.shutdown() }
        }
        let runStart = SimWallClock(scheduler: scheduler).now()
        try await restoreNode.fileSystem.createDirectory("/restore")
        try await workload.setUp()
        if parameters.chaos.powerLosses > 0 { try await makeSetUpDurable() }
        let replication = scheduler.spawner.spawn { try await self.superviseReplicator() }
        let clock = scheduler.clock
        let span = parameters.span
        let replacedProbes = parameters.replication.retention == nil ? nil : scheduler.spawner.spawn {
            try await self.replacedGenerationProbes(until: span + Self.catchUpBound, clock: clock)
        }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.appLoop(until: span, clock: clock) }
                group.addTask { try await self.probeLoop(until: span, clock: clock) }
                group.addTask { try await self.chaosLoop(until: span, clock: clock) }
                group.addTask { try await self.appOperationsLoop(until: span, clock: clock) }
                // The first failure ends the run: `waitForAll` would wait for the other loops.
                while try await group.next() != nil {}
            }
            healChaos()

            // Liveness: the app has stopped; heal the store and give the replicator a bounded time.
            SimTrace.record("workload done; faults healed", UInt64(log.lastCommit))
            await store.setFaults(.none)
            faultsActive = false
            // The retention window still reaches into the span's history here (by catch-up it
            // holds only the idle tail), and with faults off every restore inside it must succeed.
            if parameters.replication.retention != nil {
                try await probe("healed", final: true, kinds: [.retentionAtTime, .retentionExact])
            }
            try await clock.sleep(for: Self.catchUpBound)
            // Restore to latest shows the catch-up; the retention kinds are only held to succeed
            // once faults have healed, so they run here too. Exact restores run after shutdown,
            // and a point in time at random is an interim probe's draw.
            let replicaPrefix = client.root + "/generations/"
            let replicaAtCatchUp = await store.versions(under: replicaPrefix)
            let caughtUp = try await probe("catch-up", final: true, kinds: [.latest, .retentionAtTime, .retentionExact])
            guard caughtUp == log.lastCommit else {
                throw InvariantViolation.noCatchUp("\(Self.catchUpBound) after the app stopped and faults healed, the replica restores commit \(caughtUp) of \(log.lastCommit)")
            }
            // It schedules nothing past the catch-up probe; one it began may still be restoring.
            try await replacedProbes?.value

            replication.cancel()
            if case .failure(let error) = await replication.result {
                throw InvariantViolation.replicatorFailed("\(error)")
            }
            // The point-in-time kinds ran at catch-up; what is left to show is the final commit,
            // exactly at the last reported position and to latest. A restore to latest is a
            // function of the objects it reads: if shutdown wrote, replaced or deleted none since
            // the catch-up restore's listing, that restore's commit is this one's, and a second
            // full restore (the run's costliest, on the longest history) would only repeat it.
            let unchanged = await store.versions(under: replicaPrefix).elementsEqual(replicaAtCatchUp) { $0 == $1 }
            let shown = try await probe("after shutdown", final: true, kinds: unchanged ? [.exact] : [.exact, .latest])
            let final = unchanged ? caughtUp : shown
            if unchanged { SimTrace.record("after shutdown: replica unchanged since the catch-up restore of commit", UInt64(caughtUp)) }
            guard final == log.lastCommit else {
                throw InvariantViolation.noCatchUp("after the replicator's final sync the replica restores commit \(final) of \(log.lastCommit)")
            }
            try await workload.checkSource()
            await workload.close()
        } catch {
            replacedProbes?.cancel()
            _ = await replacedProbes?.result
            replication.cancel()
            _ = await replication.result
            await workload.close()
            throw error
        }
        let statistics = await store.statistics
        let gap = parameters.replication.snapshotInterval == nil ? nil
            : Self.longestGap(between: statistics.snapshotWrites, start: runStart, span: parameters.span)
        return Outcome(commits: log.lastCommit, probes: probes, skippedProbes: skippedProbes,
                       busyRetries: workload.busyRetries, replicatorStarts: replicatorStarts, storeStatistics: statistics,
                       appRestarts: appRestarts, powerLosses: powerLosses, largestWAL: log.largestWAL, longestSnapshotGap: gap)
    }

    private func probeLoop(until end: Duration, clock: SimClock) async throws {
        let mean = Double(parameters.probeInterval.milliseconds)
        while true {
            let pause = mean * AppWorkload.negativeLog1p(random.unitInterval() * 0.999)
            try await clock.sleep(for: .milliseconds(Int64(pause)))
            if clock.now.offset >= end { return }
            _ = try await probe("probe", final: false)
        }
    }

    /// Restores the replica and checks the restores against the log: exactly at the last
    /// reported position, to latest, to a random time, and inside the retention window. An
    /// interim probe runs one of these, drawn per probe (each restore is the run's largest
    /// cost, and over a run's probes every kind comes up); a final probe runs `finalKinds`.
    /// Returns the commit a restore to latest holds, or -1 when the probe did not restore to
    /// latest (another kind was drawn, or faults were active).
    @discardableResult
    func probe(_ label: String, final: Bool, kinds finalKinds: [ProbeKind] = []) async throws -> Int {
        probes += 1
        let number = probes
        let reported = log.replicated[client.location]
        let committedBefore = log.lastCommit
        let kinds = final ? finalKinds : [drawProbeKind(reported: reported != nil)]
        SimTrace.record("\(label) #\(number) \(kinds.count == 1 ? "\(kinds[0])" : "all") reported=\(reported.map { "\($0.position)" } ?? "none")", UInt64(committedBefore))

        // Invariant 1, part one: the reported position itself restores to a commit boundary.
        // A latest restore must hold at least the highest commit verified so far in this epoch.
        var requiredCommit = log.verified.last(where: { $0.report.epoch == log.epoch })?.commit ?? 0
        if let reported, kinds.contains(.exact),
           let commit = try await verifyExactly(reported, label: "\(label) #\(number)", output: "/restore/exact-\(number).db"),
           reported.epoch == log.epoch {
            requiredCommit = max(requiredCommit, commit)
        }

        guard kinds.contains(.latest) else {
            try await pointInTimeProbes(label: "\(label) #\(number)", kinds: kinds)
            return -1
        }
        let latest: DatabaseState
        do {
            latest = try await restoreAndRead(RestoreRequest(outputPath: "/restore/latest-\(number).db",
                                                             parallelism: 1 + Int(random.next() % 4)),
                                              label: "\(label) #\(number) latest")
        } catch let violation as InvariantViolation {
            throw violation
        } catch {
            if reported == nil && !final {
                SimTrace.record("\(label) #\(number) nothing to restore yet: \(error)")
                return -1
            }
            if faultsActive {
                skippedProbes += 1
                SimTrace.record("\(label) #\(number) restore failed under faults: \(error)")
                return -1
            }
            throw InvariantViolation.restoreFailed("\(label) #\(number) latest (reported \(reported.map { "\($0.position)" } ?? "none")): \(error)")
        }
        let latestEpochs = log.epochs(holding: latest.commit, digest: latest.digest)
        let latestIsCurrent = latestEpochs.last == log.epoch
        if final && !latestIsCurrent {
            throw InvariantViolation.noCatchUp("\(label) #\(number): restore to latest holds commit \(latest.commit) of a history a power loss cut off (epoch \(latestEpochs.last ?? -1), the source is in epoch \(log.epoch))")
        }
        if let reported, reported.epoch == log.epoch, !latestIsCurrent {
            throw InvariantViolation.replicatedCommitLost("\(label) #\(number): restore to latest holds commit \(latest.commit) of an earlier history, but \(reported.position) of the current one was reported replicated")
        }
        guard latest.commit >= requiredCommit || !latestIsCurrent else {
            throw InvariantViolation.replicatedCommitLost("\(label) #\(number): restore to latest holds commit \(latest.commit), but a position reported replicated in this history restored commit \(requiredCommit)")
        }
        if latestIsCurrent {
            if restoredHighWater.epoch != log.epoch { restoredHighWater = (log.epoch, 0) }
            guard latest.commit >= restoredHighWater.commit else {
                throw InvariantViolation.replicatedCommitLost("\(label) #\(number): restore to latest holds commit \(latest.commit), an earlier restore held commit \(restoredHighWater.commit)")
            }
            restoredHighWater.commit = latest.commit
        }
        try await pointInTimeProbes(label: "\(label) #\(number)", kinds: kinds)
        SimTrace.record("\(label) #\(number) restored commit \(latest.commit) (required \(requiredCommit)) of", UInt64(log.lastCommit))
        return latest.commit
    }

    /// The restores a probe can run.
    enum ProbeKind {
        /// Exactly at the last reported position (invariant 1).
        case exact
        /// To latest (invariants 1 and 2, and that the replica never goes back).
        case latest
        /// To a random time since the run began (invariant 3).
        case atTime
        /// To a time inside the retention window (invariant 5).
        case retentionAtTime
        /// Exactly at a verified position inside the retention window (invariant 5).
        case retentionExact
        /// To a time inside the retention window in the history of a generation a newer one
        /// replaced (invariant 5); never drawn, run by `ReplacedGenerationProbes`.
        case retentionOlderGeneration
    }

    /// One kind for an interim probe, among those that apply: the exact kind needs a reported
    /// position, the retention kinds need retention.
    private func drawProbeKind(reported: Bool) -> ProbeKind {
        var kinds: [ProbeKind] = [.latest, .atTime]
        if reported { kinds.append(.exact) }
        if parameters.replication.retention != nil { kinds += [.retentionAtTime, .retentionExact] }
        return kinds[Int(random.next() % UInt64(kinds.count))]
    }

    /// A fresh output path on the restore machine for a restore of `kind`.
    func restoreOutput(_ kind: String) -> String {
        restoreOutputs += 1
        return "/restore/\(kind)-\(restoreOutputs).db"
    }

    /// Restores into the restore machine, checks integrity and that the content is exactly the
    /// recorded state of the commit it claims to be (invariant 2), and removes the files.
    func restoreAndRead(_ request: RestoreRequest, label: String) async throws -> DatabaseState {
        try await restoreAndReadReport(request, label: label).state
    }

    /// `restoreAndRead`, also returning the restore's report and the store moments (see
    /// `ObjectHistory`) just before it began and just after it returned.
    func restoreAndReadReport(_ request: RestoreRequest, label: String) async throws
        -> (state: DatabaseState, report: RestoreReport, storeMoments: (start: UInt64, end: UInt64)) {
        let restorer = Restorer(client: client, environment: restoreNode.environment)
        let start = store.history.moment
        let report = try await restorer.restore(request)
        let moments = (start, store.history.moment)
        do {
            return (try await check(request, label: label), report, moments)
        } catch let violation as InvariantViolation {
            throw violation
        } catch {
            // The restore reported success; a file SQLite cannot read is a broken restore.
            throw InvariantViolation.tornRestore("\(label): the restored database cannot be read: \(error)")
        }
    }

    private func check(_ request: RestoreRequest, label: String) async throws -> DatabaseState {
        let connection = try await restoreNode.open(request.outputPath)
        let state: DatabaseState
        do {
            let integrity = try await connection.query("PRAGMA integrity_check").first?.first?.textValue
            guard integrity == "ok" else {
                throw InvariantViolation.tornRestore("\(label): integrity_check says \(integrity ?? "nothing")")
            }
            state = try await DatabaseState.read(connection)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
        guard state.commit >= 0, state.commit <= log.lastCommit || log.retired.contains(where: { state.commit < $0.digests.count }) else {
            throw InvariantViolation.tornRestore("\(label): restored commit counter \(state.commit) was never committed (last is \(log.lastCommit))")
        }
        guard !log.epochs(holding: state.commit, digest: state.digest).isEmpty else {
            throw InvariantViolation.tornRestore("\(label): restored commit \(state.commit) holds \(state.digest), the source held \(state.commit < log.digests.count ? "\(log.digests[state.commit])" : "no such commit")")
        }
        let fileSystem = restoreNode.fileSystem
        // `remove` accepts a missing file, so no stat first.
        for suffix in ["", "-wal", "-shm"] {
            try await fileSystem.remove(request.outputPath + suffix)
        }
        return state
    }
}
