import Core

/// One run of the replicator process: its node, its task and its connections to the store.
// @unchecked: touched only on the simulator's one thread.
final class ReplicatorIncarnation: @unchecked Sendable {
    let node: SimNode
    let client: ProcessBoundReplicaClient
    let task: Task<Void, any Error>
    /// Set when the world stopped this run cleanly (an idle gap's restart): the supervisor starts
    /// a successor this long after it ends.
    var restartAfter: Duration?
    /// Which start of the supervisor this is (1 for the first).
    let start: Int

    init(node: SimNode, client: ProcessBoundReplicaClient, task: Task<Void, any Error>, start: Int) {
        self.node = node
        self.client = client
        self.task = task
        self.start = start
    }
}

/// The replicator under its supervisor, and kill -9 of its process.
extension SimWorld {
    /// How long the supervisor waits before starting a replicator that was killed (systemd's
    /// `RestartSec`).
    static let restartPause: Duration = .seconds(1)

    /// Runs the real `Replicator` until cancelled, restarting it as a supervisor (systemd's
    /// `Restart=always`) would when it exits or is killed: the old process is dead (its locks
    /// dropped), and a new one starts after a pause. With a perfect store and no fault class that
    /// ends processes, an exit is itself a failure.
    func superviseReplicator() async throws {
        let log = self.log
        while true {
            replicatorStarts += 1
            if replicatorStarts > 1 {
                replicatorNode.disk.kill(replicatorNode.process)
                retiredNodes.append(replicatorNode)
                replicatorNode = try SimNode(
                    disk: app.disk, name: "replicator-\(replicatorStarts)", scheduler: scheduler,
                    logger: SimLogHandler.logger(label: "replicator", logLevel: logLevel))
            }
            let node = replicatorNode
            let process = node.process.description
            let bound =
                takeover.map {
                    PartitionedReplicaClient(
                        clients: replicatorClients, process: process, leaseOracle: leaseOracle, partition: $0.partition)
                } ?? ProcessBoundReplicaClient(clients: replicatorClients, process: process, leaseOracle: leaseOracle)
            var environment = node.environment
            if let preemption = replicatorPreemption {
                environment.fileSystem = preemption.wrap(node.fileSystem)
                environment.sqlite = PreemptingSQLiteOpener(base: node.opener, preemption: preemption)
            }
            environment.fileSystem = FaultyFileSystem(base: environment.fileSystem, faults: fileFaults)
            environment.changeNotifier = changeNotifier
            let ledger = generations
            environment.generationObserver = { event in ledger.observe(event) }
            ledger.replicatorStarted()
            // A killed process tells nobody anything: reports of a dead incarnation are dropped.
            let replicator = Replicator(
                databasePath: Self.databasePath, replicas: [bound], options: parameters.replication,
                environment: environment
            ) { replica, position in
                if !bound.isKilled { log.reportReplicated(replica: replica, position: position) }
            }
            let task = scheduler.spawner.spawn { try await replicator.run() }
            incarnation = ReplicatorIncarnation(node: node, client: bound, task: task, start: replicatorStarts)
            let current = incarnation
            let result = await withTaskCancellationHandler {
                await task.result
            } onCancel: {
                task.cancel()
            }
            incarnation = nil
            if !bound.isKilled { ledger.replicatorEnded(clean: true) }
            if let downtime = current?.restartAfter, !Task.isCancelled {
                SimTrace.record("replicator stopped cleanly: \(result)", UInt64(replicatorStarts))
                if !(await pause(downtime)) { return }
                continue
            }
            if Task.isCancelled {
                if case .failure(let error) = result, !bound.isKilled, !(error is CancellationError) { throw error }
                return
            }
            if bound.isKilled {
                SimTrace.record("replicator killed", UInt64(replicatorStarts))
                if !(await pause(Self.restartPause)) { return }
                continue
            }
            guard case .failure(let error) = result else { return }
            replicatorExits += 1
            SimTrace.record("replicator exited: \(error)", UInt64(replicatorStarts))
            try noteExitAfterTakeover(error, tookLease: bound.leaseToken != nil)
            let expected =
                parameters.storeFaults != .none || parameters.chaos.disruptsReplicator
                || ((replicatorWasKilled || takeover != nil) && error is LeaseError)
            if !expected {
                throw InvariantViolation.replicatorFailed("with a perfect store the replicator exited: \(error)")
            }
            if !(await pause(.seconds(5))) { return }
        }
    }

    /// Sleeps; false when cancelled (the run is shutting down, not failing).
    private func pause(_ duration: Duration) async -> Bool {
        do {
            try await scheduler.clock.sleep(for: duration)
            return true
        } catch {
            return false
        }
    }

    /// kill -9 of the running replicator: its descriptors and POSIX locks go (SQLite's read lock
    /// with them), its connections to the store die, its task is cancelled. Whatever await it was
    /// suspended at is where it dies; the supervisor starts a successor.
    func killReplicator(_ reason: String) {
        guard let current = incarnation, !current.client.isKilled else { return }
        SimTrace.record("kill replicator (\(reason)) \(current.node.process)")
        generations.replicatorEnded(clean: false)
        current.client.kill()
        current.node.disk.kill(current.node.process)
        current.task.cancel()
        replicatorWasKilled = true
    }

    /// After a takeover, an incarnation that held the location before it must end with a lease
    /// error, and later starts must not get as far as losing a lease they could not have taken;
    /// those refused are counted. At the first lease error the app stops writing: nothing
    /// replicates its database any more.
    private func noteExitAfterTakeover(_ error: any Error, tookLease: Bool) throws {
        guard let takeover, let at = takeover.tookOverAt else { return }
        if replicatorStarts <= takeover.firstStartsAtTakeover, tookLease, !(error is LeaseError) {
            throw InvariantViolation.supersededReplicatorRan(
                "the first replicator, superseded at \(at), ended with \(error), not a lease error")
        }
        if replicatorStarts > takeover.firstStartsAtTakeover {
            switch error {
            case LeaseError.held: takeover.refusedFirstStarts += 1
            case LeaseError.lost:
                throw InvariantViolation.supersededReplicatorRan(
                    "start \(replicatorStarts) of the first replicator lost a lease it took after the second took the location over at \(at): \(error)"
                )
            default: break
            }
        }
        if error is LeaseError, !appRetired {
            appRetired = true
            workload.stopRequested = true
            SimTrace.record("first app stops: its replicator lost the location", UInt64(log.lastCommit))
        }
    }

    /// The takeover oracle's last word on the first replicator, at the catch-up probe: the
    /// incarnation that ran at the takeover has ended, and no later one holds a lease.
    func checkSupersededReplicatorStopped() throws {
        guard let takeover, let at = takeover.tookOverAt, let current = incarnation else { return }
        if current.start <= takeover.firstStartsAtTakeover {
            throw InvariantViolation.supersededReplicatorRan(
                "the first replicator (\(current.node.process)), running since before the second took the location over at \(at), still runs \(Self.catchUpBound) after faults healed"
            )
        }
        if current.client.leaseToken != nil {
            throw InvariantViolation.supersededReplicatorRan(
                "start \(current.start) of the first replicator took a lease after the second took the location over at \(at)"
            )
        }
    }
}
