/// How often, and for how long, a seed pauses the replicator before one of its file-system or
/// SQLite calls (`Preemption`). Every such call completes within one simulator job, while the
/// app's commits wait on timers, so without pauses no commit could land between two steps of
/// the replicator; with them, any two steps may have the app's work between them.
public struct PreemptionParameters: Sendable, Equatable, CustomStringConvertible {
    /// Chance that one call pauses first; 0 for never.
    public var rate = 0.0
    /// A pause's length, drawn log-uniformly (as many sub-millisecond pauses as long ones).
    public var delay: ClosedRange<Duration> = .microseconds(20) ... .milliseconds(10)
    /// Chance that a pause is a long one instead, drawn uniformly up to `longDelay` (a process
    /// descheduled, a page fault on a loaded machine).
    public var longRate = 0.0
    public var longDelay: Duration = .seconds(1)

    public init(
        rate: Double = 0, delay: ClosedRange<Duration> = .microseconds(20) ... .milliseconds(10),
        longRate: Double = 0, longDelay: Duration = .seconds(1)
    ) {
        precondition((0...1).contains(rate) && (0...1).contains(longRate), "preemption rates \(rate), \(longRate)")
        precondition(delay.lowerBound > .zero && longDelay > .zero, "preemption delays must be positive")
        self.rate = rate
        self.delay = delay
        self.longRate = longRate
        self.longDelay = longDelay
    }

    /// No pauses.
    public static let none = PreemptionParameters()

    public var description: String {
        guard rate > 0 else { return "off" }
        return "rate=\(rate) delay=\(delay.lowerBound.nanoseconds / 1000)us...\(delay.upperBound.milliseconds)ms"
            + " long=\(longRate)x\(longDelay.milliseconds)ms"
    }
}
