#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A plain mutex for the few fields a connection guards. The module avoids Foundation so the
/// simulator can link it without pulling Foundation's threads and timers.
// @unchecked: the pthread mutex it owns is the synchronisation; `mutex` itself never changes.
final class HandleLock: @unchecked Sendable {
    // Heap-allocated: a pthread mutex must not move, and `&storedProperty` promises no fixed address.
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

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
