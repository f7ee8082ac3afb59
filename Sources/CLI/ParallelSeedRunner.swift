import Glibc

/// Runs `count` independent jobs on `jobs` POSIX threads and hands their results to the caller
/// in index order, each as soon as it and every earlier one are done. Each simulated seed owns
/// the thread it runs on (`SimScheduler.run` drives its world on its calling thread), so seeds
/// never share a scheduler; only the output order is coordinated here.
final class ParallelSeedRunner<Result: Sendable>: @unchecked Sendable {
    private let count: Int
    private let jobs: Int
    private let work: @Sendable (Int) -> Result
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    // Guarded by `mutex`.
    private var next = 0
    private var results: [Result?]

    init(count: Int, jobs: Int, work: @escaping @Sendable (Int) -> Result) {
        self.count = count
        self.jobs = max(1, jobs)
        self.work = work
        results = Array(repeating: nil, count: count)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    /// Runs everything; calls `body` on the calling thread with each result in index order.
    func forEachInOrder(_ body: (Result) -> Void) {
        if jobs == 1 {
            for index in 0..<count { body(work(index)) }
            return
        }
        var threads: [pthread_t] = []
        for _ in 0..<jobs {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(ThreadStart { self.workLoop() }).toOpaque()
            // Seeds run deep call stacks (SQLite under the simulator): give each thread 64 MiB.
            var attributes = pthread_attr_t()
            pthread_attr_init(&attributes)
            pthread_attr_setstacksize(&attributes, 64 << 20)
            let rc = pthread_create(&thread, &attributes, { context in
                Unmanaged<ThreadStart>.fromOpaque(context!).takeRetainedValue().body()
                return nil
            }, context)
            pthread_attr_destroy(&attributes)
            precondition(rc == 0, "pthread_create failed: \(rc)")
            threads.append(thread)
        }
        for index in 0..<count {
            pthread_mutex_lock(&mutex)
            while results[index] == nil { pthread_cond_wait(&condition, &mutex) }
            let result = results[index]!
            results[index] = nil
            pthread_mutex_unlock(&mutex)
            body(result)
        }
        for thread in threads { pthread_join(thread, nil) }
    }

    private func workLoop() {
        while true {
            pthread_mutex_lock(&mutex)
            let index = next
            next += 1
            pthread_mutex_unlock(&mutex)
            guard index < count else { return }
            let result = work(index)
            pthread_mutex_lock(&mutex)
            results[index] = result
            pthread_cond_broadcast(&condition)
            pthread_mutex_unlock(&mutex)
        }
    }
}

/// A thread's entry closure, boxed for `pthread_create`'s context pointer (a C function pointer
/// cannot capture a generic context).
private final class ThreadStart {
    let body: () -> Void

    init(_ body: @escaping () -> Void) { self.body = body }
}
