import Core

/// The simulated monotonic clock. Time starts at zero with each run and advances only when no
/// job is runnable, straight to the next deadline, so sleeps cost no real time.
///
/// Give it to Core as `Environment.clock`. Use it only inside a run, from simulated code.
public struct SimClock: Clock {
    public struct Instant: InstantProtocol, CustomStringConvertible {
        /// Simulated time since the start of the run.
        public var offset: Duration

        public init(offset: Duration) { self.offset = offset }

        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        public var description: String { "sim+\(offset)" }
    }

    public let scheduler: SimScheduler

    public init(scheduler: SimScheduler) { self.scheduler = scheduler }

    public var now: Instant { Instant(offset: scheduler.now) }

    public var minimumResolution: Duration { .nanoseconds(1) }

    /// Registers a timer with the scheduler and suspends until it fires. Throws
    /// `CancellationError` at once if the task is or becomes cancelled.
    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try await scheduler.sleep(until: deadline.offset)
    }
}

/// The simulated wall clock: a fixed epoch plus the run's simulated time, optionally skewed
/// (a host whose clock is off by a constant).
public struct SimWallClock: WallClock {
    /// 2026-01-01T00:00:00Z, the default epoch: fixed so that generation names and timestamps
    /// replay with the seed.
    public static let defaultEpoch = Timestamp(millisecondsSince1970: 1_767_225_600_000)

    public let scheduler: SimScheduler
    public var epoch: Timestamp
    /// Added to every reading: clock skew of one simulated host.
    public var skew: Duration

    public init(scheduler: SimScheduler, epoch: Timestamp = SimWallClock.defaultEpoch, skew: Duration = .zero) {
        self.scheduler = scheduler
        self.epoch = epoch
        self.skew = skew
    }

    public func now() -> Timestamp { epoch + (scheduler.now + skew) }
}
