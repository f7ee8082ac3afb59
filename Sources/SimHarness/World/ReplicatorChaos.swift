import Core

/// One run of the replicator process: its node, its task and its connections to the store.
final class ReplicatorIncarnation: @unchecked Sendable {
    let node: SimNode
    let client: ProcessBoundReplicaClient
    let task: Task<Void, any Error>

    init(node: SimNode, client: ProcessBoundReplicaClient, task: Task<Void, any Error>) {
        self.node = node
        self.client = client
        self.task = task
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
                replicatorNode = try SimNode(disk: app.disk, name: "replicator-\(replicatorStarts)", scheduler: scheduler,
                                             logger: SimLogHandler.logger(label: "replicator", logLevel: logLevel))
            }
            let node = replicatorNode
            let bound = ProcessBoundReplicaClient(base: client)
            var environment = node.environment
            if let preemption = replicatorPreemption {
                environment.fileSystem = preemption.wrap(node.fileSystem)
                environment.sqlite = PreemptingSQLiteOpener(base: node.opener, preemption: preemption)
            }
            environment.fileSystem = FaultyFileSystem(base: environment.fileSystem, faults: fileFaults)
            // A killed process tells nobody anything: reports of a dead incarnation are dropped.
            let replicator = Replicator(databasePath: Self.databasePath, replicas: [bound], options: parameters.replication,
                                        environment: environment) { replica, position in
                if !bound.isKilled { log.reportReplicated(replica: replica, position: position) }
            }
            let task = scheduler.spawner.spawn { try await replicator.run() }
            incarnation = ReplicatorIncarnation(node: node, client: bound, task: task)
            let result = await withTaskCancellationHandler { await task.result } onCancel: { task.cancel() }
            incarnation = nil
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
            SimTrace.record("replicator exited: \(error)", UInt64(replicatorStarts))
            let expected = parameters.storeFaults != .none || parameters.chaos.disruptsReplicator
                || (replicatorWasKilled && error is LeaseError)
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
        current.client.kill()
        current.node.disk.kill(current.node.process)
        current.task.cancel()
        replicatorWasKilled = true
    }
}
