import Core

/// The liveness invariants' bounds for one seed, each a function of the seed's drawn parameters
/// (docs/simulation.md, "Liveness invariants", gives the reasoning term by term).
///
/// After the span the app keeps writing with every fault healed: for `settle`, which no check
/// judges (whatever the faults left in flight runs out: a stalled request, a backoff wait at its
/// cap), then for `window`, over which the three bounds must hold. They judge the replicator on a
/// healthy store and disk, not the faults.
struct LivenessBounds: Sendable, Equatable {
    /// Below this span there is no healed window: it would add minutes of writes to runs of a
    /// few seconds (the short-span swarm tests), as the lease takeover is off below it too.
    static let minimumSpan: Duration = LeaseTakeoverPlan.minimumSpan

    /// Healed time before the window opens.
    var settle: Duration
    /// The judged window's length.
    var window: Duration
    /// The longest a commit may wait, once the window is open, to be restorable from the replica.
    var lag: Duration
    /// The longest stretch of the window without a snapshot landing; nil without scheduled snapshots.
    var snapshotGap: Duration?
    /// Frames the current WAL lifetime may hold beyond what the app wrote in the last
    /// `walDelay`: the replicator's checkpoint threshold.
    var walThresholdFrames: Int
    /// How long the WAL may hold `walThresholdFrames` or more before it restarts.
    var walDelay: Duration

    /// The longest the replicator may go between two looks at the WAL: its monitor interval when
    /// it polls, or when change notices work; the pass that covers a lost notice otherwise.
    static func passInterval(_ parameters: SwarmParameters) -> Duration {
        let options = parameters.replication
        guard let dropRate = parameters.changeNoticeDropRate, dropRate > 0 else { return options.monitorInterval }
        return max(options.notifiedPassInterval, options.monitorInterval)
    }

    /// Simulated time the replicator's preemption points may add to one round of work: a second
    /// for the short pauses, and two of the long ones when the seed draws them.
    static func preemptionAllowance(_ preemption: PreemptionParameters) -> Duration {
        let long = preemption.rate > 0 && preemption.longRate > 0 ? preemption.longDelay * 2 : .zero
        return .seconds(1) + long
    }

    /// What an S3 seed's request in flight at the heal may still take: held by an endpoint stall
    /// or a late landing until its timeout (S3ReplicaClient gives control requests 120 s in all),
    /// then a retry delay at the client's cap.
    static func s3InFlight(_ parameters: SwarmParameters) -> Duration {
        guard let s3 = parameters.s3Client else { return .zero }
        let faults = s3.endpointFaults
        let controlTimeout = Duration.seconds(120)
        let held =
            faults.lateLandingRate > 0
            ? controlTimeout
            : faults.stallRate > 0 ? min(faults.stallDuration.upperBound, controlTimeout) : .zero
        return held + S3RetryPolicy().maxDelay
    }

    static func stated(for parameters: SwarmParameters) -> LivenessBounds {
        let options = parameters.replication
        let faults = parameters.storeFaults
        let stalls = faults.stallBeforeRate > 0 || faults.stallAfterRate > 0
        let longestStall = stalls ? faults.stallDuration.upperBound : .zero
        let pass = passInterval(parameters)
        let preemption = preemptionAllowance(parameters.preemption)
        // A stall in flight, then a backoff at its cap, then one more sync.
        let settle = longestStall + s3InFlight(parameters) + SyncBackoff.cap + options.syncInterval + .seconds(10)
        // A commit is seen by the next pass, shadowed, and uploaded by the sync after the one
        // running (which may be a snapshot's or retention's round).
        let lag = pass + options.monitorInterval + options.syncInterval * 2 + preemption + .seconds(2)
        // Due at the last one plus the interval; the replicator may first checkpoint so that the
        // WAL moves to a new index (one more pass), then takes it after a sync.
        let gap = options.snapshotInterval.map { $0 + lag + pass }
        let window = max(.seconds(60), (options.snapshotInterval ?? .zero) * 2 + .seconds(20))
        let walDelay = pass * 2 + options.monitorInterval + preemption + .seconds(1)
        return LivenessBounds(
            settle: settle, window: window, lag: lag, snapshotGap: gap,
            walThresholdFrames: options.checkpoint.minimumPages, walDelay: walDelay)
    }
}
