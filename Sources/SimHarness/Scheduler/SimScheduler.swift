import Core
import Glibc
import Synchronization

/// The deterministic scheduler: one thread, one ready queue, one timer queue, one seed.
///
/// `run` makes the calling thread the simulator thread. The root task and every task that
/// prefers `executor` enqueue their jobs here; the driver loop picks the next job with the
/// seeded generator (oldest first, or a random runnable one with probability
/// `randomPickProbability`) and runs it synchronously. When nothing is runnable, simulated time
/// jumps to the earliest pending SimClock deadline, so a one-hour sleep costs no real time.
/// Nothing runnable and no timer pending while the root task is unfinished is a deadlock.
///
/// Work that slips out of the executor (a global enqueue from the simulator thread, a job
/// handed in from another thread, a real-time sleep) is an escape: the run stops and names it.
// @unchecked: the queues and clock are in the `state` Mutex; the rest only on the simulator thread.
public final class SimScheduler: @unchecked Sendable {
    public let seed: UInt64
    public let options: SchedulerOptions

    private struct State {
        var ready: [UnownedJob] = []
        var readyHead = 0
        var timers = TimerQueue()
        var now: Duration = .zero
        var nextSequence: UInt64 = 0
        var firstEscape: SimEscape?
        var ended = false
        /// Jobs that arrived after the run ended. Kept, never run: running them would touch a
        /// finished world, and dropping them would free tasks the runtime still tracks.
        var abandoned: [UnownedJob] = []

        var readyCount: Int { ready.count - readyHead }
    }

    // Guards what other threads may touch: the ready queue (escaped work enqueues from anywhere),
    // the timers and the clock. Everything else is the simulator thread's alone.
    private let state = Mutex(State())
    private let simThread: pthread_t
    private let pickRandom: SplitMix64
    private let traceLog: SimTrace
    private var jobs = 0
    private var timersFired = 0
    // Strong until the run ends cleanly; a run that abandons tasks keeps it (and so itself)
    // alive for the tasks that still point at it.
    private var executorStorage: SimTaskExecutor?

    private init(seed: UInt64, options: SchedulerOptions) {
        self.seed = seed
        self.options = options
        self.simThread = pthread_self()
        self.pickRandom = SplitMix64(seed: Self.streamSeed(seed, "scheduler"))
        self.traceLog = SimTrace(capacity: options.traceTailLength)
        self.executorStorage = nil
        self.executorStorage = SimTaskExecutor(scheduler: self)
    }

    // MARK: - Running

    /// Runs `body` as the root task of a new simulated world on the calling thread and returns
    /// when it finishes. Throws `SimRunError` if the run deadlocks, escapes, runs away or the
    /// body throws. The calling thread must not already be running a simulation.
    public static func run<T>(
        seed: UInt64, options: SchedulerOptions = SchedulerOptions(),
        _ body: sending @escaping () async throws -> T
    ) throws -> SimRunResult<T> {
        try run(seed: seed, options: options) { (_: SimScheduler) in try await body() }
    }

    /// Like `run(seed:options:_:)`, handing the body its scheduler (for clocks, spawner, streams).
    public static func run<T>(
        seed: UInt64, options: SchedulerOptions = SchedulerOptions(),
        _ body: sending @escaping (SimScheduler) async throws -> T
    ) throws -> SimRunResult<T> {
        precondition(SimThread.current == nil, "a simulation run cannot start inside another run on the same thread")
        let scheduler = SimScheduler(seed: seed, options: options)
        let executor = scheduler.executor
        let outcome = Outcome<T>()

        SimThread.set(scheduler)
        GlobalEnqueueHook.retain()
        // The preference on the Task places its first job here; `withTaskExecutorPreference`
        // keeps nonisolated async functions called from it here too.
        _ = Task(executorPreference: executor) {
            do {
                let value = try await withTaskExecutorPreference(executor) { try await body(scheduler) }
                outcome.result = .success(value)
            } catch {
                outcome.result = .failure(error)
            }
        }
        let failure = scheduler.drive { outcome.result != nil }
        scheduler.end()
        GlobalEnqueueHook.release()
        SimThread.set(nil)

        let elapsed = scheduler.now
        func fail(_ failure: SimFailure, underlying: (any Error)? = nil) -> SimRunError {
            SimRunError(
                failure: failure, seed: seed, elapsed: elapsed, jobs: scheduler.jobs,
                traceTail: scheduler.traceLog.tail(), underlying: underlying)
        }
        if let failure { throw fail(failure) }
        switch outcome.result! {
        case .failure(let error):
            throw fail(.bodyThrew(String(describing: error)), underlying: error)
        case .success(let value):
            return SimRunResult(
                value: value, seed: seed, elapsed: elapsed, jobs: scheduler.jobs,
                timersFired: scheduler.timersFired, traceDigest: scheduler.traceLog.digest,
                traceEvents: scheduler.traceLog.count, traceTail: scheduler.traceLog.tail())
        }
    }

    private enum Step {
        case run(UnownedJob, offset: Int, runnable: Int, now: Duration)
        case fire([CheckedContinuation<Void, any Error>], deadline: Duration, sequence: UInt64)
        case skip
        case stop(SimFailure)
    }

    private func drive(until finished: () -> Bool) -> SimFailure? {
        let unownedExecutor = simExecutor.asUnownedTaskExecutor()
        let pickProbability = options.randomPickProbability
        while true {
            if finished() { return nil }
            if jobs >= options.maxJobs { return .jobLimit(options.maxJobs) }
            let step = state.withLock { state -> Step in
                if let escape = state.firstEscape { return .stop(.escape(escape)) }
                let runnable = state.readyCount
                if runnable > 0 {
                    var offset = 0
                    if runnable > 1 && pickProbability > 0
                        && (pickProbability >= 1 || pickRandom.unitInterval() < pickProbability)
                    {
                        offset = Int(pickRandom.next() % UInt64(runnable))
                    }
                    let job = state.ready[state.readyHead + offset]
                    if offset == 0 {
                        state.readyHead += 1
                        if state.readyHead >= 1024 && state.readyHead * 2 >= state.ready.count {
                            state.ready.removeFirst(state.readyHead)
                            state.readyHead = 0
                        }
                    } else {
                        state.ready.remove(at: state.readyHead + offset)
                    }
                    return .run(job, offset: offset, runnable: runnable, now: state.now)
                }
                // Idle: jump to the earliest deadline and wake every sleep due then; the pick
                // above then orders their continuations.
                guard let deadline = state.timers.earliestDeadline else { return .stop(.deadlock) }
                if deadline > options.maxSimulatedTime { return .stop(.timeLimit(options.maxSimulatedTime)) }
                var due: [CheckedContinuation<Void, any Error>] = []
                var firstSequence: UInt64 = 0
                while let entry = state.timers.earliestDeadline, entry == deadline, let timer = state.timers.popFirst()
                {
                    guard case .waiting(let continuation) = timer.sleep.state else { continue } // cancelled
                    timer.sleep.state = .fired
                    if due.isEmpty { firstSequence = timer.sequence }
                    due.append(continuation)
                }
                if due.isEmpty { return .skip }
                if deadline > state.now { state.now = deadline }
                return .fire(due, deadline: deadline, sequence: firstSequence)
            }
            switch step {
            case .run(let job, let offset, let runnable, let now):
                jobs += 1
                traceLog.append(.pick, at: now, UInt64(offset), UInt64(runnable))
                job.runSynchronously(on: unownedExecutor)
            case .fire(let continuations, let deadline, let sequence):
                timersFired += continuations.count
                traceLog.append(.timer, at: deadline, sequence, UInt64(continuations.count))
                for continuation in continuations { continuation.resume() }
            case .skip:
                continue
            case .stop(let failure):
                return failure
            }
        }
    }

    /// Marks the run over. Work still queued or sleeping is abandoned; if there is any, the
    /// scheduler stays alive for the suspended tasks that point at its executor.
    private func end() {
        let clean = state.withLock { state -> Bool in
            state.ended = true
            state.abandoned.append(contentsOf: state.ready[state.readyHead...])
            state.ready = []
            state.readyHead = 0
            return state.abandoned.isEmpty && state.timers.isEmpty
        }
        if clean {
            executorStorage = nil
        } else {
            // Deliberate leak: a suspended task may still reach the executor (and through it us).
            _ = Unmanaged.passRetained(self)
        }
    }

    // MARK: - What simulated code uses

    /// The scheduler driving the current thread, inside a run; nil elsewhere.
    public static var current: SimScheduler? { SimThread.current }

    /// The executor every simulated task must prefer (`Task(executorPreference:)`).
    public var executor: any TaskExecutor { simExecutor }

    private var simExecutor: SimTaskExecutor { executorStorage! }

    /// Spawns unstructured tasks onto the simulation; give it to Core as `Environment.spawner`.
    public var spawner: TaskSpawner { TaskSpawner(executor: executor) }

    /// The simulated monotonic clock.
    public var clock: SimClock { SimClock(scheduler: self) }

    /// Simulated time since the start of the run.
    public var now: Duration { state.withLock { $0.now } }

    /// An independent seeded stream for one component. Each component drawing from its own
    /// stream keeps a change in one component's draws from shifting every other component's.
    public func randomSource(_ stream: String) -> SplitMix64 {
        SplitMix64(seed: Self.streamSeed(seed, stream))
    }

    /// Appends a component's event to the trace digest (and the tail shown on failure).
    public func trace(_ label: String, _ value: UInt64 = 0) {
        guard isOnSimThread else {
            recordEscape(.offThreadCall("SimTrace.record(\(label))"))
            return
        }
        traceLog.append(.user, at: now, value, 0, label: label)
    }

    /// Suspends the calling task until simulated time reaches `deadline`. Cancelling the task
    /// ends the sleep at once with `CancellationError`.
    func sleep(until deadline: Duration) async throws {
        if !isOnSimThread { recordEscape(.offThreadCall("SimClock.sleep")) }
        try Task.checkCancellation()
        let token = SleepToken()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelled = state.withLock { state -> Bool in
                    if case .cancelled = token.state { return true }
                    token.state = .waiting(continuation)
                    // A deadline already past still waits for an idle moment, as a real timer
                    // would; it never rewinds the clock.
                    state.timers.insert(
                        .init(deadline: max(deadline, state.now), sequence: state.nextSequence, sleep: token))
                    state.nextSequence += 1
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let continuation = state.withLock { _ -> CheckedContinuation<Void, any Error>? in
                switch token.state {
                case .pending:
                    token.state = .cancelled
                    return nil
                case .waiting(let continuation):
                    token.state = .cancelled
                    return continuation
                case .cancelled, .fired:
                    return nil
                }
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    // MARK: - Executor and hook entry points

    func enqueue(_ job: UnownedJob) {
        if !isOnSimThread { recordEscape(.foreignThreadEnqueue) }
        state.withLock { state in
            if state.ended { state.abandoned.append(job) } else { state.ready.append(job) }
        }
    }

    func captureGlobalEnqueue(_ job: UnownedJob) {
        recordEscape(.globalEnqueue)
        // Captured rather than passed on, so the escaped job cannot run on another thread while
        // the failure is reported; it is abandoned with the run.
        state.withLock { state in state.abandoned.append(job) }
    }

    func realTimeSleep(_ job: UnownedJob, clock: String) {
        recordEscape(.realTimeSleep(clock: clock))
        state.withLock { state in state.abandoned.append(job) }
    }

    private func recordEscape(_ escape: SimEscape) {
        state.withLock { state in
            if state.firstEscape == nil { state.firstEscape = escape }
        }
        if isOnSimThread { traceLog.append(.escape, at: now, 0, 0, label: escape.description) }
    }

    private var isOnSimThread: Bool { pthread_equal(pthread_self(), simThread) != 0 }

    // MARK: - Helpers

    private static func streamSeed(_ seed: UInt64, _ stream: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in stream.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return SplitMix64(seed: seed ^ hash).next()
    }
}

/// The root task's result, written by the root task on the simulator thread and read by the
/// driver loop on the same thread.
// @unchecked: written by the root task and read by the driver loop, both on the simulator thread.
private final class Outcome<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
