/// One seed's lease takeover (`LeaseTakeover`): when a network partition cuts the replicator's
/// machine off the object store, for how long (always longer than its 30 s lease), what becomes
/// of the requests the partition held, and the second machine's replicator and app.
public struct LeaseTakeoverPlan: Sendable, Equatable, CustomStringConvertible {
    /// When the partition starts, as a fraction of the span.
    public var partitionStartFraction: Double
    /// How long the partition lasts, cut short at the span's end.
    public var partitionLength: Duration
    /// Chance that a request the partition held reaches the store when it heals (it is dropped
    /// otherwise); half of those delivered lose their response.
    public var deliveryRate: Double
    /// How long after the first replicator's lease must have lapsed (the partition's start plus
    /// the lease) the second replicator starts.
    public var secondStartDelay: Duration
    /// Mean time between the second app's commits.
    public var secondCommitInterval: Duration

    /// The shortest span a takeover fits in: the partition outlasts the lease, and the second
    /// replicator needs time to replicate and be probed before the span ends.
    public static let minimumSpan: Duration = .seconds(90)

    public var description: String {
        "partition@\(Int(partitionStartFraction * 100))% for \(partitionLength) delivery=\(deliveryRate)"
            + " second+\(secondStartDelay.milliseconds)ms commitEvery=\(secondCommitInterval.milliseconds)ms"
    }
}
