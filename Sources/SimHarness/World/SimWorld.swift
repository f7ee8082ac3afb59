import Core
import Logging
import SQLite

/// One seed's world: the app machine (a disk shared by the app and the replicator process), the
/// object store holding the replica, a separate restore machine, and in a lease-takeover seed a
/// second machine that takes the replica location over (`LeaseTakeover`). `run()` drives the real
/// `Replicator` against a seeded app workload, probes restores with the real `Restorer` at
/// random times, then heals faults and checks that replication catches up. The oracle throws an
/// `InvariantViolation` at the first broken promise.
// @unchecked: touched only on the simulator's one thread.
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
    /// What each replicator process's replica client is built on (`client`, or the S3 client).
    let replicatorClients: ReplicatorClients
    /// The simulated S3 endpoint of a seed whose replicators run the S3 client.
    let s3Endpoint: SimS3Endpoint?
    /// The app's process on the app machine; replaced when the app restarts.
    var app: SimNode
    var replicatorNode: SimNode
    let logLevel: Logger.Level
    var replicatorStarts = 0
    /// Replicator runs that ended with an error of their own (not killed, not stopped on purpose).
    var replicatorExits = 0
    let restoreNode: SimNode
    var workload: AppWorkload
    var random: SplitMix64
    /// Whether the store's request faults are on (restores may fail for them); damage at rest
    /// is judged restore by restore instead (`DamageOracle.swift`).
    var faultsActive: Bool
    /// Whether the store may hold damage at rest: until the liveness phase heals it.
    var damageActive: Bool
    var probes = 0
    var skippedProbes = 0
    /// Restores run so far: each reads through a client named for its number.
    var restores = 0
    /// Draws each restore's apply batch size (`drawApplyLimits`), apart from the probes'
    /// draws so that they stay as they were.
    var applyBatchRandom: SplitMix64
    /// Restores that met damage at rest and failed as they had to (or did not need it).
    var restoresMetDamage = 0
    /// Restore outputs so far, numbering their files: probes can overlap (see
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
    /// Checks every write of every replicator against the store's lease object.
    let leaseOracle: LeaseOracle
    /// The second machine of a lease-takeover seed.
    let takeover: LeaseTakeover?
    /// True while the app machine is down or the app restarts.
    var appDown = false
    /// True once the app's database lost its replica location to a takeover: the app stops
    /// writing, since nothing replicates it any more (`LeaseTakeover`).
    var appRetired = false
    /// True while the app pauses with every connection closed (`AppIdleGaps.swift`).
    var appIdle = false
    /// Draws of the app's idle gaps and the clean restarts in them.
    var idleRandom: SplitMix64
    /// Invariant 7: whether each new generation had a cause.
    let generations: GenerationLedger
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
    /// Pauses before the replicator's calls, across its restarts; nil when the seed draws none.
    let replicatorPreemption: Preemption?
    /// Pauses before the app's SQLite calls, across its restarts; nil when the seed draws none.
    let appPreemption: Preemption?
    /// Invariant 9, watching the app machine's disk.
    let shadowOracle: ShadowIndexOracle
    /// The app machine's change notices, as its kernel would give them; nil when the seed polls.
    let changeNotifier: SimChangeNotifier?

    init(scheduler: SimScheduler, parameters: SwarmParameters, registerDefaultVFS: Bool, logLevel: Logger.Level) throws
    {
        self.scheduler = scheduler
        self.parameters = parameters
        self.logLevel = logLevel
        self.registerDefaultVFS = registerDefaultVFS
        let wallClock = SimWallClock(scheduler: scheduler)
        let appDisk = SimDisk(wallClock: { wallClock.now() })
        app = try SimNode(disk: appDisk, name: "app", scheduler: scheduler, asDefault: registerDefaultVFS)
        replicatorNode = try SimNode(
            disk: appDisk, name: "replicator", scheduler: scheduler,
            logger: SimLogHandler.logger(label: "replicator", logLevel: logLevel))
        restoreNode = try SimNode(
            disk: SimDisk(wallClock: { wallClock.now() }), name: "restore", scheduler: scheduler,
            logger: SimLogHandler.logger(label: "restore", logLevel: logLevel))
        changeNotifier = parameters.changeNoticeDropRate.map {
            SimChangeNotifier(disk: appDisk, dropRate: $0, random: scheduler.randomSource("change-notices"))
        }
        store = SimObjectStore(scheduler: scheduler, faults: parameters.storeFaults)
        client = SimReplicaClient(store: store, root: "replica", writeLayout: parameters.replication.layout)
        let store = store
        let endpoint = parameters.s3Client.map {
            SimS3Endpoint(
                scheduler: scheduler, store: store, bucket: "sim-bucket", credentials: SimS3Endpoint.defaultCredentials,
                faults: $0.endpointFaults)
        }
        s3Endpoint = endpoint
        replicatorClients = ReplicatorClients(
            simulated: client,
            s3: parameters.s3Client.map {
                ReplicatorClients.S3Route(
                    endpoint: endpoint!, parameters: $0, scheduler: scheduler,
                    random: scheduler.randomSource("s3-client"))
            })
        let appPreemption = Preemption.drawn(parameters.preemption, scheduler: scheduler, stream: "app-preemption")
        self.appPreemption = appPreemption
        workload = AppWorkload(
            node: app, path: Self.databasePath, mix: parameters.workload, log: log,
            random: scheduler.randomSource("workload"), preemption: appPreemption)
        random = scheduler.randomSource("probes")
        faultsActive =
            parameters.storeFaults.withoutDamage != .none || (parameters.s3Client?.endpointFaults ?? .none) != .none
        damageActive = parameters.storeFaults.damagesObjects
        fileFaults = FileFaultSwitch(
            errorRate: parameters.chaos.replicatorIOErrorRate,
            random: scheduler.randomSource("replicator-disk-faults"))
        chaosRandom = scheduler.randomSource("chaos")
        idleRandom = scheduler.randomSource("idle-gaps")
        applyBatchRandom = scheduler.randomSource("restore-apply-batches")
        let faults = fileFaults
        let history = ReplicaHistory(history: store.history, rootPrefix: client.root.isEmpty ? "" : client.root + "/")
        generations = GenerationLedger(
            disk: appDisk, databasePath: Self.databasePath, injectedFaults: { faults.injected },
            replicaGenerations: { history.firstSnapshotTimes().map(\.generation) })
        replicatorPreemption = Preemption.drawn(
            parameters.preemption, scheduler: scheduler, stream: "replicator-preemption")
        shadowOracle = ShadowIndexOracle(state: LocalState(databasePath: Self.databasePath)) { [log] violation in
            log.recordViolation(violation)
        }
        appDisk.observe(shadowOracle)
        log.wallClock = { wallClock.now() }
        leaseOracle = LeaseOracle(store: store, leaseKey: client.leaseKey, wallClock: wallClock)
        takeover = try parameters.chaos.takeover.map {
            try LeaseTakeover(plan: $0, parameters: parameters, scheduler: scheduler, logLevel: logLevel)
        }
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
        /// Generations the replicator started, and starts that continued one (invariant 7).
        var generationsStarted = 0
        var generationsContinued = 0
        /// Replicator runs that ended with an error of their own.
        var replicatorExits = 0
        var restoresMetDamage = 0
        /// Writes a partition held past their lease and delivered (`NetworkPartition`).
        var lateWrites = 0
        /// For a takeover seed: when the second replicator took the location over, and how many
        /// starts of the first it refused afterwards.
        var takeover: (at: Duration, refusedStarts: Int)?
        var shadowIndexesChecked = 0
        var preemptions = 0
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
            app.disk.observe(nil)
            app.shutdown()
            replicatorNode.shutdown()
            restoreNode.shutdown()
            for node in retiredNodes { node.shutdown() }
            takeover?.shutdown()
        }
        let runStart = SimWallClock(scheduler: scheduler).now()
        try await restoreNode.fileSystem.createDirectory("/restore")
        try await workload.setUp()
        if parameters.chaos.powerLosses > 0 { try await makeSetUpDurable() }
        let replication = scheduler.spawner.spawn { try await self.superviseReplicator() }
        let secondReplication = takeover.map { second in
            scheduler.spawner.spawn {
                try await second.supervise(
                    clients: self.replicatorClients, oracle: self.leaseOracle, span: self.parameters.span,
                    storeIsFaulty: self.parameters.storeFaults != .none
                        || (self.parameters.s3Client?.endpointFaults ?? .none) != .none
                ) { self.replicatorStarts }
            }
        }
        let clock = scheduler.clock
        let span = parameters.span
        let healedWindow =
            takeover == nil && span >= LivenessBounds.minimumSpan ? LivenessBounds.stated(for: parameters) : nil
        // The heal may come past the span (its last probes and long readers end it): a minute's allowance.
        let liveness = healedWindow.map { $0.settle + $0.window + .seconds(60) } ?? .zero
        let replacedProbes =
            parameters.replication.retention == nil
            ? nil
            : scheduler.spawner.spawn {
                try await self.replacedGenerationProbes(until: span + liveness + Self.catchUpBound, clock: clock)
            }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.appLoop(until: span, clock: clock) }
                group.addTask { try await self.probeLoop(until: span, clock: clock) }
                group.addTask { try await self.chaosLoop(until: span, clock: clock) }
                group.addTask { try await self.appOperationsLoop(until: span, clock: clock) }
                if let second = self.takeover { group.addTask { try await second.runApp(until: span, clock: clock) } }
                // The first failure ends the run: `waitForAll` would wait for the other loops.
                while try await group.next() != nil {}
            }
            try log.throwIfViolated()
            try await catchUpAndStop(
                replication: replication, secondReplication: secondReplication, replacedProbes: replacedProbes,
                healedWindow: healedWindow)
        } catch {
            replacedProbes?.cancel()
            _ = await replacedProbes?.result
            replication.cancel()
            _ = await replication.result
            secondReplication?.cancel()
            _ = await secondReplication?.result
            await workload.close()
            await takeover?.workload.close()
            throw error
        }
        let statistics = await store.statistics
        let gap =
            parameters.replication.snapshotInterval == nil
            ? nil
            : Self.longestGap(between: statistics.snapshotWrites, start: runStart, span: parameters.span)
        return Outcome(
            commits: log.lastCommit, probes: probes, skippedProbes: skippedProbes,
            busyRetries: workload.busyRetries, replicatorStarts: replicatorStarts, storeStatistics: statistics,
            appRestarts: appRestarts, powerLosses: powerLosses, largestWAL: log.largestWAL, longestSnapshotGap: gap,
            generationsStarted: generations.started, generationsContinued: generations.continued,
            replicatorExits: replicatorExits, restoresMetDamage: restoresMetDamage,
            lateWrites: takeover?.partition.deliveredWrites ?? 0,
            takeover: takeover?.tookOverAt.map { ($0 - runStart, takeover!.refusedFirstStarts) },
            shadowIndexesChecked: shadowOracle.checkedIndexes,
            preemptions: (replicatorPreemption?.pauses ?? 0) + (appPreemption?.pauses ?? 0))
    }

    /// The liveness phase: faults heal, the app writes on through the healed window (the
    /// liveness bounds), then the replicator gets a bounded time to catch up (invariant
    /// 6, against the second database after a takeover), then stops, and the replica must hold
    /// the last commit; the sources are checked last (invariant 4).
    private func catchUpAndStop(
        replication: Task<Void, any Error>, secondReplication: Task<Void, any Error>?,
        replacedProbes: Task<Void, any Error>?, healedWindow bounds: LivenessBounds?
    ) async throws {
        healChaos()

        // Liveness: the app has stopped; heal the store and give the replicator a bounded time.
        SimTrace.record("workload done; faults healed", UInt64(log.lastCommit))
        await store.setFaults(.none)
        await s3Endpoint?.setFaults(.none)
        // The store repairs what it damaged at rest, as from redundancy: lost objects return.
        await store.healDamage()
        faultsActive = false
        damageActive = false
        // The retention window still reaches into the span's history here (by catch-up it
        // holds only the idle tail), and with faults off every restore inside it must succeed.
        if parameters.replication.retention != nil {
            try await probe("healed", final: true, kinds: [.retentionAtTime, .retentionExact])
        }
        // The app writes on with faults healed; the replicator must keep up (`LivenessBounds`).
        if let bounds { try await healedWindow(bounds, clock: scheduler.clock) }
        try await scheduler.clock.sleep(for: Self.catchUpBound)
        // Restore to latest shows the catch-up; the retention kinds are only held to succeed
        // once faults have healed, so they run here too. Exact restores run after shutdown,
        // and a point in time at random is an interim probe's draw.
        let replicaPrefix = client.root + "/generations/"
        let replicaAtCatchUp = await store.versions(under: replicaPrefix)
        let caughtUp = try await probe("catch-up", final: true, kinds: [.latest, .retentionAtTime, .retentionExact])
        // After a takeover the replica follows the second database (`LeaseTakeover`).
        let source = takeover?.tookOverAt == nil ? log : takeover!.log
        guard caughtUp == source.lastCommit else {
            throw InvariantViolation.noCatchUp(
                "\(Self.catchUpBound) after the app stopped and faults healed, the replica restores commit \(caughtUp) of \(source.lastCommit)"
            )
        }
        try checkSupersededReplicatorStopped()
        // It schedules nothing past the catch-up probe; one it began may still be restoring.
        try await replacedProbes?.value

        // The first replicator stops first: were the second to release its lease before, a
        // refused first could take the location back.
        replication.cancel()
        if case .failure(let error) = await replication.result {
            throw InvariantViolation.replicatorFailed("\(error)")
        }
        secondReplication?.cancel()
        if let secondReplication, case .failure(let error) = await secondReplication.result,
            !(error is CancellationError)
        {
            throw InvariantViolation.replicatorFailed("the second replicator: \(error)")
        }
        // The point-in-time kinds ran at catch-up; what is left to show is the final commit,
        // exactly at the last reported position and to latest. A restore to latest is a
        // function of the objects it reads: if shutdown wrote, replaced or deleted none since
        // the catch-up restore's listing, that restore's commit is this one's, and a second
        // full restore (the run's costliest, on the longest history) would only repeat it.
        let unchanged = await store.versions(under: replicaPrefix).elementsEqual(replicaAtCatchUp) { $0 == $1 }
        let shown = try await probe("after shutdown", final: true, kinds: unchanged ? [.exact] : [.exact, .latest])
        let final = unchanged ? caughtUp : shown
        if unchanged {
            SimTrace.record("after shutdown: replica unchanged since the catch-up restore of commit", UInt64(caughtUp))
        }
        guard final == source.lastCommit else {
            throw InvariantViolation.noCatchUp(
                "after the replicator's final sync the replica restores commit \(final) of \(source.lastCommit)")
        }
        if let violation = leaseOracle.violation { throw violation }
        if let violation = generations.violation { throw violation }
        try await workload.checkSource()
        await workload.close()
        try await takeover?.workload.checkSource()
        await takeover?.workload.close()
        try log.throwIfViolated()
    }
}
