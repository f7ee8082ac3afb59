import Synchronization

/// The production `Clock`: `ContinuousClock`'s time, with sleeps that wait in a
/// `ThreadPoolRunner`'s own timer list and resume the sleeping task on the pool thread that saw
/// the deadline pass.
///
/// `Task.sleep`, even under the pool's `SchedulingExecutor`, resumed the task by way of
/// Dispatch's global pool: the pool's timer thread woke a Dispatch worker, which handed the task
/// back to a pool thread, three threads and about ten futex calls for each of the monitor's ten
/// looks a second at the WAL. Here the thread that fires the timer resumes the task, and a job
/// queued from a pool thread is run by that thread (`WorkQueue.submit`).
public struct PoolClock: Clock {
    public typealias Instant = ContinuousClock.Instant

    private let runner: ThreadPoolRunner

    public init(runner: ThreadPoolRunner) {
        self.runner = runner
    }

    public var now: Instant { ContinuousClock.now }

    public var minimumResolution: Duration { ContinuousClock().minimumResolution }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try await runner.sleep(for: ContinuousClock.now.duration(to: deadline))
    }
}

extension ThreadPoolRunner {
    /// Suspends the calling task for `duration`; throws `CancellationError` at once when the task
    /// is cancelled, before or during the sleep.
    func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        let pending = PendingSleep()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                pending.start(continuation) {
                    submit(afterNanoseconds: Self.nanoseconds(duration)) { pending.finish(cancelled: false) }
                }
            }
        } onCancel: {
            if let timer = pending.finish(cancelled: true) { cancelTimer(timer) }
        }
    }
}

/// One sleep's continuation and timer, resumed exactly once by whichever comes first: the timer
/// or the task's cancellation (which may come before the continuation exists).
private final class PendingSleep: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Void, any Error>?
        var timer: UInt64?
        var finished = false
        var cancelled = false
    }

    private let state = Mutex(State())

    /// Installs the continuation and starts the timer, unless cancellation came first.
    func start(_ continuation: CheckedContinuation<Void, any Error>, timer startTimer: () -> UInt64) {
        let cancelledAlready = state.withLock { state -> Bool in
            if state.finished { return true }
            state.continuation = continuation
            state.timer = startTimer()
            return false
        }
        if cancelledAlready { continuation.resume(throwing: CancellationError()) }
    }

    /// Resumes the sleeper once; returns the timer to drop when cancellation ended the sleep.
    @discardableResult
    func finish(cancelled: Bool) -> UInt64? {
        let (continuation, timer) = state.withLock { state -> (CheckedContinuation<Void, any Error>?, UInt64?) in
            guard !state.finished else { return (nil, nil) }
            state.finished = true
            state.cancelled = cancelled
            defer { state.continuation = nil }
            return (state.continuation, state.timer)
        }
        if cancelled {
            continuation?.resume(throwing: CancellationError())
        } else {
            continuation?.resume()
        }
        return cancelled ? timer : nil
    }
}
