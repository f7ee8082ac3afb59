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
/// keep their task-locals, so `#expect` still reports to the right test.
public final class BlockingTestExecutor: TaskExecutor, @unchecked Sendable {
    /// The executor every test target shares. Its width bounds how many blocking tests run at
    /// once (about what the cooperative pool allowed before), without starving async tests.
    public static let shared = BlockingTestExecutor(threads: 4)

    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var jobs: [UnownedJob] = []
    private var head = 0

    private init(threads: Int) {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
        for _ in 0..<threads {
            let context = Unmanaged.passUnretained(self).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { context in
                let executor = Unmanaged<BlockingTestExecutor>.fromOpaque(context!).takeUnretainedValue()
                executor.workLoop()
                return nil
            }, context)
            precondition(rc == 0, "pthread_create failed: \(rc)")
            pthread_detach(thread)
        }
    }

    public func enqueue(_ job: UnownedJob) {
        pthread_mutex_lock(&mutex)
        jobs.append(job)
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    /// True on one of this executor's threads.
    public static var isCurrentThread: Bool { OwnThread.marker }

    private func workLoop() {
        OwnThread.marker = true
        while true {
            pthread_mutex_lock(&mutex)
            while head == jobs.count { pthread_cond_wait(&condition, &mutex) }
            let job = jobs[head]
            head += 1
            if head > 1024 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            pthread_mutex_unlock(&mutex)
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// Marks the executor's threads, so `blocking` can prove it really left the cooperative pool.
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
