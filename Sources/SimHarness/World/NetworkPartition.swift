import Core

/// A network partition of one machine: from `start` to `end` (simulated time since the run
/// began) every request its replicator processes send to the object store hangs, as on a link
/// that drops every packet. When the link heals each held request is, by a seeded draw, dropped
/// (the caller sees a timeout and nothing reached the store), delivered late (it takes effect at
/// the heal and the caller hears back), or delivered with its response lost. Requests already on
/// the wire when it starts go through. Touched only on the simulator thread.
// @unchecked: touched only on the simulator's one thread.
final class NetworkPartition: @unchecked Sendable {
    let start: Duration
    let end: Duration
    /// Chance that a held request reaches the store when the link heals; half of those lose
    /// their response.
    let deliveryRate: Double
    private let clock: SimClock
    private var random: SplitMix64
    /// Requests the partition held, and how many of them reached the store afterwards.
    private(set) var held = 0
    private(set) var delivered = 0
    /// Writes among those delivered: each landed after the lease it was issued under had lapsed
    /// (the partition outlasts the lease), possibly after another replicator took over.
    private(set) var deliveredWrites = 0

    /// What became of a held request.
    enum Fate {
        case dropped
        case delivered
        case deliveredResponseLost
    }

    init(start: Duration, end: Duration, deliveryRate: Double, clock: SimClock, random: SplitMix64) {
        precondition(start < end, "a partition ends after it starts")
        self.start = start
        self.end = end
        self.deliveryRate = deliveryRate
        self.clock = clock
        self.random = random
    }

    /// Whether a request sent now is held.
    var isActive: Bool {
        let now = clock.now.offset
        return now >= start && now < end
    }

    /// Holds a request until the link heals, then draws its fate.
    func hold(isWrite: Bool) async throws -> Fate {
        held += 1
        try await clock.sleep(until: SimClock.Instant(offset: end))
        guard random.unitInterval() < deliveryRate else { return .dropped }
        delivered += 1
        if isWrite { deliveredWrites += 1 }
        return random.unitInterval() < 0.5 ? .delivered : .deliveredResponseLost
    }
}
