import IO

#if canImport(Glibc)
    import Glibc
#endif

/// A task executor on threads of its own, for test bodies that block: child processes waited
/// for, whole simulated worlds driven on the calling thread, sleeps between process steps.
///
/// Why: Swift Testing runs every test on the cooperative pool, which has one thread per core.
/// On the 2-core CI machine two blocked tests starve every async test in the process; CI saw
/// an in-process replicator stall for seconds while holding SQLite's write lock, so the test's
/// own writer timed out with SQLITE_BUSY. Bodies wrapped in `blocking` hop here instead and
/// keep their task-locals, so `#expect` still reports to the right test. The threads are a
/// production `ThreadPoolRunner`'s.
public final class BlockingTestExecutor: TaskExecutor, Sendable {
    /// The executor every test target shares. Its width bounds how many blocking tests run at
    /// once (about what the cooperative pool allowed before), without starving async tests.
    public static let shared = BlockingTestExecutor(threads: 4)

    private let threads: ThreadPoolRunner

    private init(threads: Int) {
        self.threads = ThreadPoolRunner(threads: threads)
    }

    public func enqueue(_ job: UnownedJob) {
        threads.submit { [self] in
            OwnThread.marker = true
            job.runSynchronously(on: asUnownedTaskExecutor())
            OwnThread.marker = false
        }
    }

    /// True while a job of this executor runs on the current thread.
    public static var isCurrentThread: Bool { OwnThread.marker }
}

/// Marks the thread running one of the executor's jobs, so `blocking` can prove it really left
/// the cooperative pool.
private enum OwnThread {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        return key
    }()

    static var marker: Bool {
        get { pthread_getspecific(key) != nil }
        set { pthread_setspecific(key, newValue ? UnsafeRawPointer(bitPattern: 1) : nil) }
    }
}

/// Runs a test body that blocks on `BlockingTestExecutor.shared`, off the cooperative pool. The
/// body may await; it resumes on the same executor.
public func blocking<T>(_ body: () async throws -> T) async throws -> T {
    try await withTaskExecutorPreference(BlockingTestExecutor.shared) {
        precondition(BlockingTestExecutor.isCurrentThread, "a blocking test body ran on the cooperative pool")
        return try await body()
    }
}
