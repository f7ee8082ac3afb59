import Glibc

/// A plain mutex around the simulator's shared state. The simulator runs on one thread, but the
/// SQLite binding and tests may call in from whichever thread a task resumes on, one at a time;
/// the lock keeps those calls from ever overlapping. Not reentrant: locked code never calls back
/// into a public method of the same object.
// @unchecked: the pthread mutex it owns is the synchronisation; `mutex` itself never changes.
final class SimLock: @unchecked Sendable {
    // Heap memory: a pthread mutex must not move.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
