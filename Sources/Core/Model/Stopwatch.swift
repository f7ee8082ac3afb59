/// Time elapsed since it was made, on an injected clock (simulated in the simulator).
public struct Stopwatch: Sendable {
    private let read: @Sendable () -> Duration

    public init(_ clock: any Clock<Duration>) {
        read = Self.start(clock)
    }

    /// Time since `init`.
    public func elapsed() -> Duration { read() }

    private static func start<C: Clock<Duration>>(_ clock: C) -> @Sendable () -> Duration {
        let start = clock.now
        return { start.duration(to: clock.now) }
    }
}
