import Core
import Glibc

/// The system's real-time clock (`CLOCK_REALTIME`), for timestamps users and replicas see.
public struct SystemWallClock: WallClock {
    public init() {}

    public func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(millisecondsSince1970: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}

/// The system's cryptographic random number generator (getrandom on Linux).
public final class SystemRandom: RandomSource, Sendable {
    // Stateless: every call draws fresh bytes from the kernel, so sharing it across threads is safe.
    public init() {}

    public func next() -> UInt64 {
        var generator = SystemRandomNumberGenerator()
        return generator.next()
    }
}
