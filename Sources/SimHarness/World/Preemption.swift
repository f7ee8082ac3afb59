import Core
import Glibc

/// The simulator's preemption points for one kind of process: before a call, with the seed's
/// rate, it sleeps on the SimClock for a drawn pause, so that other processes (the app's commits
/// above all) run in between. Draws come from a stream of its own, so pauses shift no other
/// draw of the seed; with a rate of 0 it draws nothing and never suspends.
///
/// A pause cut short by cancellation (a killed process, the run's end) just ends: the call
/// goes ahead as it would have, and fails or not on its own terms.
// @unchecked: touched only on the simulator's one thread.
final class Preemption: @unchecked Sendable {
    let parameters: PreemptionParameters
    private let clock: SimClock
    private let random: SplitMix64
    // Touched only on the simulator thread.
    private(set) var pauses = 0
    /// The pauses' total length, over every task that paused (they may overlap): what the
    /// healed window's WAL bound does not count against the replicator (`LivenessBounds`).
    private(set) var paused: Duration = .zero

    init(parameters: PreemptionParameters, clock: SimClock, random: SplitMix64) {
        self.parameters = parameters
        self.clock = clock
        self.random = random
    }

    /// The preemption points of a process kind, drawing from `stream`; nil when `parameters`
    /// never pause, so such a seed runs exactly as without them.
    static func drawn(_ parameters: PreemptionParameters, scheduler: SimScheduler, stream: String) -> Preemption? {
        guard parameters.rate > 0 else { return nil }
        return Preemption(parameters: parameters, clock: scheduler.clock, random: scheduler.randomSource(stream))
    }

    /// A possible preemption point.
    func pause() async {
        guard random.chance(parameters.rate) else { return }
        pauses += 1
        let pause = drawPause()
        paused += pause
        try? await clock.sleep(for: pause)
    }

    private func drawPause() -> Duration {
        if random.chance(parameters.longRate) {
            return .nanoseconds(Int64(random.unitInterval() * Double(parameters.longDelay.nanoseconds)) + 1)
        }
        let low = log(Double(parameters.delay.lowerBound.nanoseconds))
        let high = log(Double(parameters.delay.upperBound.nanoseconds))
        return .nanoseconds(Int64(exp(low + random.unitInterval() * (high - low))))
    }

    /// `fileSystem` with a preemption point before every call (its latency seam).
    func wrap(_ fileSystem: SimFileSystem) -> SimFileSystem {
        SimFileSystem(disk: fileSystem.disk, process: fileSystem.process) { _ in await self.pause() }
    }
}

/// Opens connections whose every call is a preemption point (`PreemptingConnection`).
struct PreemptingSQLiteOpener: SQLiteOpener {
    let base: any SQLiteOpener
    let preemption: Preemption

    func open(_ path: String, options: SQLiteOpenOptions) async throws -> any SQLiteConnection {
        await preemption.pause()
        return PreemptingConnection(base: try await base.open(path, options: options), preemption: preemption)
    }
}

/// A connection that may pause before every call. Each call can take or drop a lock (BEGIN,
/// BEGIN IMMEDIATE, the first read of a transaction, a checkpoint, ROLLBACK), and through the
/// simulated VFS each otherwise runs to its end inside one job.
final class PreemptingConnection: SQLiteConnection, Sendable {
    let base: any SQLiteConnection
    let preemption: Preemption

    init(base: any SQLiteConnection, preemption: Preemption) {
        self.base = base
        self.preemption = preemption
    }

    func execute(_ sql: String) async throws {
        await preemption.pause()
        try await base.execute(sql)
    }

    func query(_ sql: String, _ parameters: [SQLiteValue]) async throws -> [[SQLiteValue]] {
        await preemption.pause()
        return try await base.query(sql, parameters)
    }

    func checkpoint(_ mode: CheckpointMode) async throws -> CheckpointResult {
        await preemption.pause()
        return try await base.checkpoint(mode)
    }

    func setPersistentWAL(_ enabled: Bool) async throws {
        await preemption.pause()
        try await base.setPersistentWAL(enabled)
    }

    func close() async throws {
        await preemption.pause()
        try await base.close()
    }
}
