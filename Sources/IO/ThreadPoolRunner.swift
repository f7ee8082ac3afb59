import Core
import Synchronization
@_spi(ExperimentalScheduling) import _Concurrency

#if canImport(Glibc)
    import Glibc
#endif

/// The production `BlockingRunner`: a small fixed pool of dedicated threads that run blocking
/// calls (SQLite, fsync, pread) and resume the waiting task with a continuation, so Swift's
/// cooperative pool never sits inside a system call.
///
/// Work runs in submission order across `threadCount` threads. A blocking call cannot be
/// cancelled once it started; a cancelled task still waits for its call to return, which keeps
/// file handles and connections consistent.
///
/// It is also a `TaskExecutor`: a task that prefers it runs its jobs on the pool's threads, and
/// there `run` calls the body in place instead of handing it to another thread. That is how the
/// engine hops once per unit of work (DESIGN §2): the replicator's and the restore's tasks prefer
/// the pool, so a shadow pass or an upload makes its file and SQLite calls as plain synchronous
/// calls on one pool thread, and only waits (a sleep, a network transfer on another runner)
/// suspend. A handoff costs about 13 futex calls; a small pread costs one system call.
///
/// Built on pthreads rather than Foundation's `Thread`, so the `sluice` binary does not load
/// Foundation at all (about 9 MB of resident memory). The threads stop after the runner is
/// released and the queue has drained.
public final class ThreadPoolRunner: BlockingRunner, TaskExecutor, Sendable {
    /// How many threads run work.
    public let threadCount: Int
    private let queue: WorkQueue

    /// Starts `threads` worker threads (at least one), each with `stackSize` bytes of stack when
    /// given (the system default otherwise).
    public init(threads: Int = 4, stackSize: Int? = nil) {
        threadCount = max(1, threads)
        queue = WorkQueue()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        if let stackSize { pthread_attr_setstacksize(&attributes, stackSize) }
        for _ in 0..<threadCount {
            let context = Unmanaged.passRetained(queue).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(
                &thread, &attributes,
                { context in
                    let queue = Unmanaged<WorkQueue>.fromOpaque(context!).takeRetainedValue()
                    queue.workLoop()
                    return nil
                }, context)
            precondition(rc == 0, "pthread_create failed: \(rc)")
            pthread_detach(thread)
        }
    }

    deinit { queue.shutDown() }

    /// Queues `work` without waiting for it: for callers that are not async (a task executor's
    /// `enqueue`, say) and collect results their own way.
    public func submit(_ work: @escaping @Sendable () -> Void) {
        queue.submit(work)
    }

    /// Queues `work` to run on a pool thread `nanoseconds` from now; returns an ID for `cancelTimer`.
    func submit(afterNanoseconds nanoseconds: UInt64, _ work: @escaping @Sendable () -> Void) -> UInt64 {
        queue.submit(afterNanoseconds: nanoseconds, work)
    }

    /// Drops a timed job that has not run yet.
    func cancelTimer(_ id: UInt64) {
        queue.cancelTimer(id)
    }

    /// Sleeps and other timed jobs waiting for their deadline.
    public var timerCount: Int { queue.timerCount }

    /// Whether the calling thread is one of this pool's.
    public var isCurrent: Bool { queue.isWorkerThread }

    /// Calls of `run` that handed their body to a pool thread (from outside the pool), since
    /// the pool started: what the tests' budget of a pass and an upload counts.
    public var handoffCount: Int { handoffs.load(ordering: .relaxed) }
    private let handoffs = Atomic<Int>(0)

    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        // Already on a pool thread (a task that prefers this executor): blocking here is what
        // the thread is for, and a handoff would only add two thread switches.
        if isCurrent { return try body() }
        handoffs.add(1, ordering: .relaxed)
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            queue.submit {
                do {
                    continuation.resume(returning: try body())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}

extension ThreadPoolRunner {
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.submit { job.runSynchronously(on: executor) }
    }
}

/// Sleeps of tasks that prefer the pool (`Task.sleep`, `ContinuousClock.sleep`) wait in the
/// pool's own timer list instead of Dispatch's: a Dispatch timer woke a manager thread, then a
/// worker, then a pool thread, about ten system calls for each of the monitor's looks at the WAL.
@_spi(ExperimentalScheduling) extension ThreadPoolRunner: SchedulingExecutor {
    public func enqueue<C: Clock>(
        _ job: consuming ExecutorJob, after delay: C.Duration, tolerance: C.Duration?, clock: C
    ) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        // Every clock the engine sleeps on measures in `Duration`; another kind runs at once, as
        // if its delay had passed, rather than never.
        let nanoseconds = (delay as? Duration).map(Self.nanoseconds) ?? 0
        queue.submit(afterNanoseconds: nanoseconds) { job.runSynchronously(on: executor) }
    }

    public func enqueue<C: Clock>(_ job: consuming ExecutorJob, at instant: C.Instant, tolerance: C.Duration?, clock: C)
    {
        enqueue(job, after: clock.now.duration(to: instant), tolerance: tolerance, clock: clock)
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) &* 1_000_000_000 &+ UInt64(max(0, attoseconds) / 1_000_000_000)
    }
}
