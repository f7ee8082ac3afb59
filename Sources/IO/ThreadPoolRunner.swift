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
/// Built on pthreads rather than Foundation's `Thread`, so the `sluice` binary does not load
/// Foundation at all (about 9 MB of resident memory). The threads stop after the runner is
/// released and the queue has drained.
public final class ThreadPoolRunner: BlockingRunner, @unchecked Sendable {
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

    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
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
        pthread_mutex_lock(mutex)
        items.append(work)
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    func shutDown() {
        pthread_mutex_lock(mutex)
        isShutDown = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    func workLoop() {
        while let work = next() { work() }
    }

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
