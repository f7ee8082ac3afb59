import Core
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
///
/// `@unchecked Sendable`: its only state is `queue`, whose fields its mutex guards.
public final class ThreadPoolRunner: BlockingRunner, TaskExecutor, @unchecked Sendable {
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
            let rc = pthread_create(&thread, &attributes, { context in
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

    /// Whether the calling thread is one of this pool's.
    public var isCurrent: Bool { WorkQueue.current == ObjectIdentifier(queue) }

    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        // Already on a pool thread (a task that prefers this executor): blocking here is what
        // the thread is for, and a handoff would only add two thread switches.
        if isCurrent { return try body() }
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

/// A FIFO of jobs guarded by a mutex and a condition variable (heap-allocated: a pthread mutex
/// stored inline in a Swift class may move and crashed in release builds).
private final class WorkQueue: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    // Guarded by `mutex`. A head index instead of removeFirst keeps dequeue O(1); a taken slot
    // is cleared at once, because a job's closure holds its captures (a write's 1 MiB buffer)
    // and dozens of finished jobs waiting for compaction once held tens of megabytes.
    private var items: [(() -> Void)?] = []
    private var head = 0
    private var isShutDown = false

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func submit(_ work: @escaping () -> Void) {
        // A job submitted from one of this queue's own threads (a task resumed, an actor hop)
        // is taken by that thread once its current job returns: waking a sleeping one would
        // only have two threads contend for the queue and the task's state, and each wake-up
        // is a futex call on both sides. The submitting thread is awake, so nothing is stranded;
        // the cost is that the job waits for the current one to finish.
        let fromWorker = Self.current == ObjectIdentifier(self)
        pthread_mutex_lock(mutex)
        items.append(work)
        if !fromWorker { pthread_cond_signal(condition) }
        pthread_mutex_unlock(mutex)
    }

    func shutDown() {
        pthread_mutex_lock(mutex)
        isShutDown = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    func workLoop() {
        pthread_setspecific(Self.threadKey, Unmanaged.passUnretained(self).toOpaque())
        while let work = next() { work() }
        pthread_setspecific(Self.threadKey, nil)
    }

    /// The queue whose worker is the calling thread, if any.
    static var current: ObjectIdentifier? {
        guard let raw = pthread_getspecific(threadKey) else { return nil }
        return ObjectIdentifier(Unmanaged<WorkQueue>.fromOpaque(raw).takeUnretainedValue())
    }

    /// Marks each worker thread with its queue (no destructor: the mark is a borrowed pointer).
    private static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        return key
    }()

    private func next() -> (() -> Void)? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while head == items.count {
            if isShutDown { return nil }
            pthread_cond_wait(condition, mutex)
        }
        let work = items[head]
        items[head] = nil
        head += 1
        // Compact once the consumed prefix dominates, so a long-lived pool does not grow forever.
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return work
    }
}
