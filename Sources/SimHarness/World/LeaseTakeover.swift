import Core
import Logging

/// The second machine of a lease-takeover seed (`LeaseTakeoverPlan`). A network partition cuts
/// the replicator's machine off the object store for longer than its lease; once that lease
/// must have lapsed, a replicator on this machine, with a disk, a database, an app and a commit
/// log of its own, starts against the same replica location and takes it over.
///
/// ### What the oracle holds a takeover to
/// - **Writes only under the lease** (every seed, `LeaseOracle`): no write is issued by a process
///   the store's lease object does not name, or after that lease expired. A write issued before
///   the expiry that lands after it is counted, not failed (see `LeaseOracle`).
/// - **Only the new holder's history**: from the second replicator's first report on, every
///   restore to latest is a state of the second database's history, never the first's, never a
///   mix (`SimWorld.checkLatestAfterTakeover`). Before it, either history may be restored.
/// - **The superseded replicator stops and stays out**: the first replicator's incarnation that
///   was running at the takeover has ended (with a lease error, or killed) by the catch-up probe,
///   and every later start of it is refused while the second holds the lease.
///
/// The first database's catch-up (invariant 6) no longer applies once its location is gone: the
/// second's replaces it. What still holds for the first is its source (invariant 4) and that every
/// position it reported restores exactly, by generation, while retention is off (invariant 1);
/// with retention on, the second's retention may remove the first's generation once no restore
/// point in its window needs it, so those restores may be refused. The second replicator runs
/// with a 120 s lease: with the first's 30 s, a store stall could let its lease lapse too and the
/// first take the location back, after which no single history is the replica's.
// @unchecked: touched only on the simulator's one thread.
final class LeaseTakeover: @unchecked Sendable {
    static let secondLeaseOwner = "second-machine:1"
    static let secondLeaseDuration: Duration = .seconds(120)

    let plan: LeaseTakeoverPlan
    let partition: NetworkPartition
    /// When the second replicator first starts (simulated time since the run began).
    let replicatorStart: Duration
    let log = CommitLog()
    let workload: AppWorkload
    private let disk: SimDisk
    private let appNode: SimNode
    private let options: ReplicationOptions
    /// The second machine's change notices; nil when the seed polls.
    private let changeNotifier: SimChangeNotifier?
    private let scheduler: SimScheduler
    private let logLevel: Logger.Level
    private var nodes: [SimNode] = []
    /// When the second replicator first took the lease.
    private(set) var tookOverAt: Timestamp?
    /// The first replicator's start count at the takeover: its incarnations up to this one ran
    /// before it.
    private(set) var firstStartsAtTakeover = 0
    /// Starts of the first replicator refused with `LeaseError.held` after the takeover.
    var refusedFirstStarts = 0
    private(set) var secondStarts = 0
    /// The highest commit a restore to latest of the second's history has shown.
    var restoredHighWater = 0

    init(plan: LeaseTakeoverPlan, parameters: SwarmParameters, scheduler: SimScheduler, logLevel: Logger.Level) throws {
        let span = parameters.span
        let start = Duration.milliseconds(Int64(Double(span.milliseconds) * plan.partitionStartFraction))
        let end = min(start + plan.partitionLength, span)
        precondition(end > start + parameters.replication.leaseDuration, "the partition must outlast the lease")
        self.plan = plan
        self.scheduler = scheduler
        self.logLevel = logLevel
        partition = NetworkPartition(
            start: start, end: end, deliveryRate: plan.deliveryRate, clock: scheduler.clock,
            random: scheduler.randomSource("partition"))
        replicatorStart = start + parameters.replication.leaseDuration + plan.secondStartDelay
        let wallClock = SimWallClock(scheduler: scheduler)
        disk = SimDisk(wallClock: { wallClock.now() })
        appNode = try SimNode(disk: disk, name: "second-app", scheduler: scheduler)
        let secondDisk = disk
        changeNotifier = parameters.changeNoticeDropRate.map {
            SimChangeNotifier(disk: secondDisk, dropRate: $0, random: scheduler.randomSource("second-change-notices"))
        }
        var mix = parameters.workload
        mix.meanCommitInterval = plan.secondCommitInterval
        mix.largeTransactionRate = 0
        mix.maxTableBytes = 256 << 10
        // Ids far above the first app's, so no state of one database is a state of the other.
        workload = AppWorkload(
            node: appNode, path: SimWorld.databasePath, mix: mix, log: log,
            random: scheduler.randomSource("second-workload"), firstID: 1 << 40)
        var options = parameters.replication
        options.leaseOwner = Self.secondLeaseOwner
        options.leaseDuration = Self.secondLeaseDuration
        self.options = options
        log.wallClock = { wallClock.now() }
    }

    /// Whether the second replicator has reported a position: from then on the replica's latest
    /// state must be of its history.
    func hasReported(at location: String) -> Bool { log.replicated[location] != nil }

    /// The second machine's app: created when the partition starts, committing until `end`.
    func runApp(until end: Duration, clock: SimClock) async throws {
        try await clock.sleep(until: SimClock.Instant(offset: partition.start))
        SimTrace.record(
            "network partition of the replicator's machine until \(partition.end); second machine's app starts")
        try await workload.setUp()
        try await workload.run(until: end, clock: clock)
    }

    /// Runs the second replicator from `replicatorStart` until cancelled, restarting it after a
    /// pause when it exits, as the first's supervisor does. Refused before it took the location
    /// over, it tries again until the span ends (the partition may not have let the first's lease
    /// lapse yet, or the first took its location back when it healed).
    func supervise(
        clients: ReplicatorClients, oracle: LeaseOracle, span: Duration, storeIsFaulty: Bool,
        firstStarts: @escaping () -> Int
    ) async throws {
        let clock = scheduler.clock
        try await clock.sleep(until: SimClock.Instant(offset: replicatorStart))
        while true {
            secondStarts += 1
            let name = "second-replicator-\(secondStarts)"
            let node = try SimNode(
                disk: disk, name: name, scheduler: scheduler,
                logger: SimLogHandler.logger(label: name, logLevel: logLevel))
            nodes.append(node)
            let bound = ProcessBoundReplicaClient(clients: clients, process: name, leaseOracle: oracle)
            bound.onLeaseTaken = { [unowned self] lease in self.noteLease(lease, firstStarts: firstStarts()) }
            let log = self.log
            var environment = node.environment
            environment.changeNotifier = changeNotifier
            let replicator = Replicator(
                databasePath: SimWorld.databasePath, replicas: [bound], options: options,
                environment: environment
            ) { replica, position in
                log.reportReplicated(replica: replica, position: position)
            }
            let task = scheduler.spawner.spawn { try await replicator.run() }
            let result = await withTaskCancellationHandler {
                await task.result
            } onCancel: {
                task.cancel()
            }
            disk.kill(node.process)
            if Task.isCancelled {
                if case .failure(let error) = result, !(error is CancellationError) { throw error }
                return
            }
            guard case .failure(let error) = result else { return }
            SimTrace.record("second replicator exited: \(error)", UInt64(secondStarts))
            let refused = tookOverAt == nil && error is LeaseError
            if !refused && !storeIsFaulty {
                throw InvariantViolation.replicatorFailed("with a perfect store the second replicator exited: \(error)")
            }
            if refused && clock.now.offset >= span { return }
            try await clock.sleep(for: SimWorld.restartPause * 5)
        }
    }

    private func noteLease(_ lease: Lease, firstStarts: Int) {
        guard tookOverAt == nil else { return }
        tookOverAt = SimWallClock(scheduler: scheduler).now()
        firstStartsAtTakeover = firstStarts
        SimTrace.record("second replicator took the location over; first replicator starts so far", UInt64(firstStarts))
    }

    /// Unregisters the second machine's VFSs; connections must be closed first.
    func shutdown() {
        appNode.shutdown()
        for node in nodes { node.shutdown() }
    }
}
