import Core
import Logging

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
    let app: SimNode
    private(set) var replicatorNode: SimNode
    private let logLevel: Logger.Level
    private var replicatorStarts = 0
    let restoreNode: SimNode
    private let workload: AppWorkload
    private var random: SplitMix64
    private var faultsActive: Bool
    private var probes = 0
    private var skippedProbes = 0
    /// The highest commit any restore to latest has shown: a later one may not show less.
    private var restoredHighWater = 0

    init(scheduler: SimScheduler, parameters: SwarmParameters, registerDefaultVFS: Bool, logLevel: Logger.Level) throws {
        self.scheduler = scheduler
        self.parameters = parameters
        self.logLevel = logLevel
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
    }

    /// What a passing run did, for the summary.
    struct Outcome {
        var commits: Int
        var probes: Int
        var skippedProbes: Int
        var busyRetries: Int
        var replicatorStarts: Int
        var storeStatistics: SimObjectStore.Statistics
    }

    func run() async throws -> Outcome {
        defer {
            app.shutdown()
            replicatorNode.shutdown()
            restoreNode.shutdown()
        }
        try await restoreNode.fileSystem.createDirectory("/restore")
        try await workload.setUp()
        let replication = scheduler.spawner.spawn { try await self.superviseReplicator() }
        do {
            let clock = scheduler.clock
            let span = parameters.span
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.workload.run(until: span, clock: clock) }
                group.addTask { try await self.probeLoop(until: span, clock: clock) }
                try await group.waitForAll()
            }

            // Liveness: the app has stopped; heal the store and give the replicator a bounded time.
            SimTrace.record("workload done; faults healed", UInt64(log.lastCommit))
            await store.setFaults(.none)
            faultsActive = false
            try await clock.sleep(for: Self.catchUpBound)
            let caughtUp = try await probe("catch-up", final: true)
            guard caughtUp == log.lastCommit else {
                throw InvariantViolation.noCatchUp("\(Self.catchUpBound) after the app stopped and faults healed, the replica restores commit \(caughtUp) of \(log.lastCommit)")
            }

            replication.cancel()
            if case .failure(let error) = await replication.result {
                throw InvariantViolation.replicatorFailed("\(error)")
            }
            let final = try await probe("after shutdown", final: true)
            guard final == log.lastCommit else {
                throw InvariantViolation.noCatchUp("after the replicator's final sync the replica restores commit \(final) of \(log.lastCommit)")
            }
            try await workload.checkSource()
            await workload.close()
        } catch {
            replication.cancel()
            _ = await replication.result
            await workload.close()
            throw error
        }
        return Outcome(commits: log.lastCommit, probes: probes, skippedProbes: skippedProbes,
                       busyRetries: workload.busyRetries, replicatorStarts: replicatorStarts, storeStatistics: await store.statistics)
    }

    /// Runs the real `Replicator` until cancelled, restarting it as a supervisor (systemd's
    /// `Restart=always`) would when it exits with an error: the old process is killed, which
    /// drops its locks, and a new one starts after a pause. With a perfect store an exit is
    /// itself a failure.
    private func superviseReplicator() async throws {
        let log = self.log
        while true {
            replicatorStarts += 1
            if replicatorStarts > 1 {
                replicatorNode.disk.kill(replicatorNode.process)
                replicatorNode.shutdown()
                replicatorNode = try SimNode(disk: app.disk, name: "replicator-\(replicatorStarts)", scheduler: scheduler,
                                             logger: SimLogHandler.logger(label: "replicator", logLevel: logLevel))
            }
            let replicator = Replicator(databasePath: Self.databasePath, replicas: [client], options: parameters.replication,
                                        environment: replicatorNode.environment) { replica, position in
                log.reportReplicated(replica: replica, position: position)
            }
            do {
                try await replicator.run()
                return
            } catch {
                if Task.isCancelled { throw error }
                SimTrace.record("replicator exited: \(error)", UInt64(replicatorStarts))
                if parameters.storeFaults == .none {
                    throw InvariantViolation.replicatorFailed("with a perfect store the replicator exited: \(error)")
                }
                try await scheduler.clock.sleep(for: .seconds(5))
            }
        }
    }

    private func probeLoop(until end: Duration, clock: SimClock) async throws {
        let mean = Double(parameters.probeInterval.milliseconds)
        while true {
            let pause = mean * AppWorkload.negativeLog1p(unit() * 0.999)
            try await clock.sleep(for: .milliseconds(Int64(pause)))
            if clock.now.offset >= end { return }
            _ = try await probe("probe", final: false)
        }
    }

    /// Restores the replica (exactly at the last reported position, then to latest) and checks
    /// both against the log. Returns the commit the latest restore holds, or -1 when the probe
    /// could not restore while faults were active.
    @discardableResult
    private func probe(_ label: String, final: Bool) async throws -> Int {
        probes += 1
        let number = probes
        let reported = log.replicated[client.location]
        let committedBefore = log.lastCommit
        SimTrace.record("\(label) #\(number) reported=\(reported.map { "\($0.position)" } ?? "none")", UInt64(committedBefore))

        // Invariant 1, part one: the reported position itself restores to a commit boundary.
        var requiredCommit = 0
        if let reported {
            let request = RestoreRequest(outputPath: "/restore/exact-\(number).db", generation: reported.position.generation,
                                         target: .position(index: reported.position.index, offset: reported.position.offset),
                                         parallelism: 1 + Int(random.next() % 4))
            do {
                let state = try await restoreAndRead(request, label: "\(label) #\(number) exact \(reported.position)")
                requiredCommit = state.commit
            } catch let error as RestoreError where Self.mayRefuseExact(error) {
                SimTrace.record("\(label) #\(number) exact restore refused: \(error)")
            } catch let error as RestoreError {
                if case .positionNotReplicated = error {
                    throw InvariantViolation.replicatedCommitLost("\(label) #\(number): position \(reported.position) was reported replicated, restore says \(error)")
                }
                if !faultsActive { throw InvariantViolation.restoreFailed("\(label) #\(number) exact \(reported.position): \(error)") }
                skippedProbes += 1
            } catch let violation as InvariantViolation {
                throw violation
            } catch {
                if !faultsActive { throw InvariantViolation.restoreFailed("\(label) #\(number) exact \(reported.position): \(error)") }
                skippedProbes += 1
            }
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
        guard latest.commit >= requiredCommit else {
            throw InvariantViolation.replicatedCommitLost("\(label) #\(number): restore to latest holds commit \(latest.commit), but \(reported!.position), reported replicated, holds commit \(requiredCommit)")
        }
        guard latest.commit >= restoredHighWater else {
            throw InvariantViolation.replicatedCommitLost("\(label) #\(number): restore to latest holds commit \(latest.commit), an earlier restore held commit \(restoredHighWater)")
        }
        restoredHighWater = latest.commit
        SimTrace.record("\(label) #\(number) restored commit \(latest.commit) (required \(requiredCommit)) of", UInt64(log.lastCommit))
        return latest.commit
    }

    /// Restore refusals that are the planner's documented limits, not failures: an exact
    /// position inside the earliest snapshot's index, or history retention has since removed.
    private static func mayRefuseExact(_ error: RestoreError) -> Bool {
        switch error {
        case .positionInsideSnapshotIndex, .generationNotFound, .noSnapshot: return true
        default: return false
        }
    }

    /// Restores into the restore machine, checks integrity and that the content is exactly the
    /// recorded state of the commit it claims to be (invariant 2), and removes the files.
    private func restoreAndRead(_ request: RestoreRequest, label: String) async throws -> DatabaseState {
        let restorer = Restorer(client: client, environment: restoreNode.environment)
        _ = try await restorer.restore(request)
        do {
            return try await check(request, label: label)
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
        guard state.commit >= 0, state.commit <= log.lastCommit else {
            throw InvariantViolation.tornRestore("\(label): restored commit counter \(state.commit) was never committed (last is \(log.lastCommit))")
        }
        guard log.digests[state.commit] == state.digest else {
            throw InvariantViolation.tornRestore("\(label): restored commit \(state.commit) holds \(state.digest), the source held \(log.digests[state.commit])")
        }
        let fileSystem = restoreNode.fileSystem
        for suffix in ["", "-wal", "-shm"] where try await fileSystem.stat(request.outputPath + suffix) != nil {
            try await fileSystem.remove(request.outputPath + suffix)
        }
        return state
    }

    private func unit() -> Double {
        Double(random.next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }
}
