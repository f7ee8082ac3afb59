import Core

/// A named family of swarm draws: which fault classes a seed may turn on.
public enum SwarmProfile: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Each fault class on or off per seed, at moderate rates.
    case `default`
    /// A perfect object store: only scheduling and the workload vary.
    case noFaults = "no-faults"
    /// Every object-store fault class on, at high rates, with slow paginated listings.
    case s3Hell = "s3-hell"
    /// Whole-machine power losses on almost every seed (the app's disk crashes and SQLite
    /// recovers its WAL), with the default profile's other classes.
    case powerLoss = "power-loss"

    public var description: String { rawValue }
}

/// Everything one seed decided about its run besides the scheduling: fault rates, the
/// replicator's knobs and the workload mix. Printed with every failure.
public struct SwarmParameters: Sendable, Equatable, CustomStringConvertible {
    public var profile: SwarmProfile
    public var storeFaults: ObjectStoreFaults
    public var replication: ReplicationOptions
    public var workload: WorkloadMix
    /// How long the app writes, in simulated time.
    public var span: Duration
    /// Mean time between restore probes while the app writes: a fifth to a tenth of the span, so
    /// a seed probes about five to ten times whatever its length. Each probe restores three or
    /// four times (exact, latest, point in time, retention), which makes probes the simulator's
    /// largest cost.
    public var probeInterval: Duration
    public var randomPickProbability: Double
    /// Process, machine, app and disk fault classes.
    public var chaos: ChaosParameters = .none
    /// Pauses before the replicator's file-system and SQLite calls.
    public var preemption: PreemptionParameters = .none
    /// WAL change notices for the replicator (inotify in production): nil polls the WAL, a
    /// value is the share of notices lost (`SimChangeNotifier`).
    public var changeNoticeDropRate: Double? = nil
    /// Set when the seed's replicators run the production S3 client over the simulated S3
    /// endpoint (`SimS3Endpoint`) instead of `SimReplicaClient`; nil for the simulated client.
    public var s3Client: SimS3ClientParameters? = nil

    /// Draws the parameters of `seed` under `profile`, from a stream of their own.
    public static func draw(seed: UInt64, profile: SwarmProfile, span: Duration) -> SwarmParameters {
        let random = SplitMix64(seed: seed ^ 0x5357_4152_4d21_0001)
        func chance(_ p: Double) -> Bool { random.unitInterval() < p }
        func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
        func rate(_ range: ClosedRange<Double>) -> Double {
            range.lowerBound + random.unitInterval() * (range.upperBound - range.lowerBound)
        }

        var faults = ObjectStoreFaults.none
        switch profile {
        case .noFaults:
            break
        case .default, .powerLoss:
            faults = ObjectStoreFaults(
                errorRate: chance(0.5) ? rate(0.01...0.1) : 0,
                throttleRate: chance(0.3) ? rate(0.01...0.05) : 0,
                ambiguousRate: chance(0.4) ? rate(0.01...0.1) : 0,
                stallBeforeRate: chance(0.3) ? rate(0.005...0.03) : 0,
                stallAfterRate: chance(0.3) ? rate(0.005...0.03) : 0,
                stallDuration: .milliseconds(500) ... .seconds(pick([2, 10, 30])),
                latency: .zero ... .milliseconds(pick([0, 5, 50])),
                listPageSize: pick([2, 10, 1000]),
                listPageDelay: .milliseconds(pick([0, 0, 20])))
        case .s3Hell:
            faults = ObjectStoreFaults(
                errorRate: rate(0.1...0.3), throttleRate: rate(0.05...0.2), ambiguousRate: rate(0.1...0.3),
                stallBeforeRate: rate(0.02...0.1), stallAfterRate: rate(0.02...0.1),
                stallDuration: .seconds(1) ... .seconds(60), latency: .milliseconds(5) ... .milliseconds(200),
                listPageSize: pick([1, 2, 5]), listPageDelay: .milliseconds(50))
        }

        var options = ReplicationOptions()
        options.monitorInterval = .milliseconds(pick([100, 250, 500, 1000]))
        options.syncInterval = .milliseconds(pick([100, 500, 1000, 2000]))
        let minimumPages = pick([8, 32, 128, 1000])
        options.checkpoint = CheckpointPolicy(
            minimumPages: minimumPages,
            idleInterval: pick([nil, .seconds(2), .seconds(10), .seconds(60)]),
            truncatePages: chance(0.5) ? minimumPages * pick([2, 4, 16]) : nil)
        // Without snapshots every restore replays the whole run's WAL, one SQLite checkpoint per
        // WAL index: kept for a quarter of the seeds that checkpoint at 128 pages or more. Below
        // that, a run has thousands of indexes and restores that replay them all dominate it.
        let snapshots = chance(0.75)
        let snapshotInterval = Duration.seconds(pick([10, 15, 60]))
        options.snapshotInterval = snapshots || minimumPages < 128 ? snapshotInterval : nil
        options.retention = chance(0.4) ? .seconds(pick([10, 30, 120])) : nil
        options.retentionCheckInterval = .seconds(pick([5, 20, 60]))
        options.chunkSize = pick([4096, 65536, 256 << 10])
        options.layout = chance(0.5) ? .grouped : .legacy
        options.leaseDuration = .seconds(30)

        let workload = WorkloadMix(
            meanCommitInterval: .milliseconds(pick([40, 45, 50])),
            largeTransactionRate: pick([0, 0.005, 0.02]),
            checkpointRate: pick([0, 0.02, 0.1]),
            deleteRate: pick([0.1, 0.3]),
            updateRate: pick([0.2, 0.4]),
            maxRowSize: pick([200, 1000, 4500]),
            maxTableBytes: pick([256 << 10, 512 << 10, 1 << 20]))

        var parameters = SwarmParameters(
            profile: profile, storeFaults: faults, replication: options, workload: workload,
            span: span, probeInterval: span / pick([5, 8, 10]),
            randomPickProbability: pick([0, 0.1, 0.5, 1]))
        // Drawn last, so adding it left every earlier draw of a seed as it was.
        parameters.workload.pageSize = pick([1024, 2048, 4096])
        parameters.workload.autocheckpoint = pick([0, 0, 1000])
        // Small caps split every backlog into many segments (and every restore reads them back).
        parameters.replication.maxSegmentSize = pick([64 << 10, 1 << 20, 16 << 20])
        parameters.chaos = ChaosParameters.draw(seed: seed, profile: profile)
        // Half the seeds have an app that closes every connection between bursts of work, and in
        // most of those the replicator is stopped cleanly and restarted during pauses, as a
        // deploy or a host's restart would: the idle restarts of invariant 7.
        if chance(0.5) {
            parameters.workload.idleGapRate = pick([0.002, 0.005])
            parameters.workload.idleGapMean = .seconds(pick([1, 4, 10]))
            parameters.workload.idleRestartRate = pick([0.3, 0.7, 1.0])
            parameters.workload.downtimeWriteRate = pick([0, 0.3])
        }
        // Damage at rest: in about a quarter of default seeds, each class on or off within them,
        // and every class in every s3-hell seed.
        switch profile {
        case .noFaults:
            break
        case .default, .powerLoss:
            if chance(0.25) {
                parameters.storeFaults.truncateRate = chance(0.6) ? rate(0.002...0.02) : 0
                parameters.storeFaults.dropBytesRate = chance(0.6) ? rate(0.002...0.02) : 0
                parameters.storeFaults.changeBytesRate = chance(0.6) ? rate(0.002...0.02) : 0
                parameters.storeFaults.lossRate = chance(0.6) ? rate(0.002...0.02) : 0
            }
        case .s3Hell:
            parameters.storeFaults.truncateRate = rate(0.005...0.03)
            parameters.storeFaults.dropBytesRate = rate(0.005...0.03)
            parameters.storeFaults.changeBytesRate = rate(0.005...0.03)
            parameters.storeFaults.lossRate = rate(0.005...0.03)
        }
        if span < LeaseTakeoverPlan.minimumSpan { parameters.chaos.takeover = nil }
        // Scheduling, not a fault: every profile draws it. A quarter of the seeds never pause.
        parameters.preemption = PreemptionParameters(
            rate: pick([0, 0.005, 0.02, 0.1]),
            delay: .microseconds(20) ... .milliseconds(pick([1, 10, 50])),
            longRate: pick([0, 0, 0.01]), longDelay: .milliseconds(pick([300, 3000])))
        // As production runs it, most seeds wait for change notices; some lose a share, or all,
        // of them, which the pass every `notifiedPassInterval` must make up for.
        if chance(0.75) {
            parameters.changeNoticeDropRate = pick([0, 0, 0, 0.2, 1])
            parameters.replication.notifiedPassInterval = .seconds(pick([2, 10, 30]))
        }
        // A third of the seeds replicate through the production S3 client (drawn last, so every
        // earlier draw of a seed is as it was).
        if chance(1.0 / 3) {
            parameters.s3Client = SimS3ClientParameters.draw(profile: profile, chance: chance, pick: pick, rate: rate)
        }
        return parameters
    }

    public var description: String {
        let f = storeFaults
        let o = replication
        let p = o.checkpoint
        func ms(_ d: Duration) -> String { "\(d.milliseconds)ms" }
        return "profile=\(profile) span=\(span) probe=\(probeInterval) pick=\(randomPickProbability)"
            + " store[error=\(f.errorRate) throttle=\(f.throttleRate) ambiguous=\(f.ambiguousRate)"
            + " stallBefore=\(f.stallBeforeRate) stallAfter=\(f.stallAfterRate) stall=\(f.stallDuration)"
            + " latency=\(f.latency) page=\(f.listPageSize)"
            + " truncate=\(f.truncateRate) dropBytes=\(f.dropBytesRate) changeBytes=\(f.changeBytesRate) lose=\(f.lossRate)]"
            + " replicator[monitor=\(ms(o.monitorInterval)) sync=\(ms(o.syncInterval)) minPages=\(p.minimumPages)"
            + " idle=\(p.idleInterval.map(ms) ?? "off") truncatePages=\(p.truncatePages.map(String.init) ?? "off")"
            + " snapshot=\(o.snapshotInterval.map(ms) ?? "off") retention=\(o.retention.map(ms) ?? "off")"
            + " retentionCheck=\(ms(o.retentionCheckInterval)) chunk=\(o.chunkSize) maxSegment=\(o.maxSegmentSize) layout=\(o.layout)]"
            + " workload[\(workload)] chaos[\(chaos)] preemption[\(preemption)]"
            + " notices[\(changeNoticeDropRate.map { "drop=\($0) pass=\(ms(o.notifiedPassInterval))" } ?? "off")]"
            + " client[\(s3Client.map { "s3 \($0)" } ?? "sim")]"
    }
}

/// The app's mix of work.
public struct WorkloadMix: Sendable, Equatable, CustomStringConvertible {
    /// Mean simulated time between commits (exponentially distributed).
    public var meanCommitInterval: Duration
    /// Chance that a transaction is a large one that spills to the WAL before it commits.
    public var largeTransactionRate: Double
    /// Chance, after a commit, that the app runs a checkpoint of its own (PASSIVE or TRUNCATE).
    public var checkpointRate: Double
    public var deleteRate: Double
    public var updateRate: Double
    public var maxRowSize: Int
    /// Past this many bytes of row values, an insert becomes a delete, so the database (which
    /// every snapshot compresses and every probe restores whole) stays small however long the run.
    public var maxTableBytes: Int
    /// The database's page size. Smaller pages mean fewer WAL bytes per commit, deeper trees and
    /// more overflow pages; the replicator and restore must handle any size.
    public var pageSize = 4096
    /// The app's `wal_autocheckpoint` when it opens the database: SQLite's default (1000), or 0
    /// as Litestream advises for busy databases, leaving checkpoints to the replicator. With the
    /// replicator's read lock pinning the WAL, the default makes every commit past 1000 frames
    /// run a checkpoint that can only partly succeed (and sorts every frame it cannot copy).
    public var autocheckpoint = 1000
    /// Chance, after a commit, that the app pauses with every connection closed (an app that
    /// closes its database between bursts of work; SQLite then checkpoints and deletes the WAL
    /// when the replicator is not running). 0 for none.
    public var idleGapRate = 0.0
    /// The mean length of such a pause.
    public var idleGapMean: Duration = .seconds(3)
    /// Chance that an idle gap stops the replicator cleanly and starts it again, as a deploy or
    /// a host's restart would (operations, not a fault: every profile has them).
    public var idleRestartRate = 0.0
    /// Chance that the app writes while the replicator is down in such a restart, closing its
    /// connection after: the database then changed, and a new generation is due.
    public var downtimeWriteRate = 0.0

    public var description: String {
        "commitEvery=\(meanCommitInterval.milliseconds)ms large=\(largeTransactionRate) checkpoint=\(checkpointRate)"
            + " delete=\(deleteRate) update=\(updateRate) maxRow=\(maxRowSize) maxTable=\(maxTableBytes) page=\(pageSize) autocheckpoint=\(autocheckpoint)"
            + " idleGaps=\(idleGapRate)x\(idleGapMean.milliseconds)ms restarts=\(idleRestartRate) downtimeWrites=\(downtimeWriteRate)"
    }
}
