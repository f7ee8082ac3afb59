/// The randomness port: generation IDs and jitter. Production draws from the system; the
/// simulator from a seeded generator, so a seed replays the same IDs.
public protocol RandomSource: Sendable {
    func next() -> UInt64
}

/// A small seeded generator (SplitMix64). Deterministic, not cryptographic.
// @unchecked: each instance is drawn from by one thread only (the simulator's, or one test's).
public final class SplitMix64: RandomSource, @unchecked Sendable {
    // Only the simulator thread (or a single test) draws from one instance.
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
