/// How a simulation run schedules jobs and when it gives up.
///
/// Every choice the scheduler makes is drawn from the run's seed, so these knobs change which
/// interleavings a seed explores, never whether a seed replays.
public struct SchedulerOptions: Sendable, Equatable {
    /// Chance that the next job is drawn uniformly from every runnable job instead of being the
    /// oldest one. 0 is plain FIFO (one interleaving per seed-independent program); 1 is a fully
    /// random pick. Values in between model mostly-fair scheduling with occasional "preemption".
    public var randomPickProbability: Double
    /// A run that executes more jobs than this fails as a runaway (a busy loop that never sleeps).
    public var maxJobs: Int
    /// A run whose simulated clock would pass this fails as a runaway (a loop that sleeps forever).
    public var maxSimulatedTime: Duration
    /// How many of the last trace events a failure report shows.
    public var traceTailLength: Int

    public init(
        randomPickProbability: Double = 0.5, maxJobs: Int = 50_000_000,
        maxSimulatedTime: Duration = .seconds(30 * 24 * 3600), traceTailLength: Int = 64
    ) {
        precondition((0...1).contains(randomPickProbability), "randomPickProbability must be within 0...1")
        precondition(maxJobs > 0 && traceTailLength >= 0, "limits must be positive")
        self.randomPickProbability = randomPickProbability
        self.maxJobs = maxJobs
        self.maxSimulatedTime = maxSimulatedTime
        self.traceTailLength = traceTailLength
    }
}
