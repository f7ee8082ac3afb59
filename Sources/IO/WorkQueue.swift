#if canImport(Glibc)
    import Glibc
#endif

/// The jobs of a `ThreadPoolRunner`: a FIFO of ready jobs and a list of timed ones, guarded by a
/// mutex (heap-allocated: a pthread mutex stored inline in a Swift class may move and crashed in
/// release builds).
///
/// Idle workers wait on `condition`; at most one of them at a time waits on `timerCondition`
/// with a deadline, the earliest timer's, and moves due timers to the ready list. So a pool with
/// sleeping tasks costs one timed wait, not a wake-up of every thread at every deadline.
// @unchecked: every field is guarded by `mutex`.
final class WorkQueue: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private let timerCondition: UnsafeMutablePointer<pthread_cond_t>
    // A head index instead of removeFirst keeps dequeue O(1); a taken slot is cleared at once,
    // because a job's closure holds its captures (a write's 1 MiB buffer) and dozens of finished
    // jobs waiting for compaction once held tens of megabytes.
    private var items: [(() -> Void)?] = []
    private var head = 0
    /// Timed jobs, unordered: there are a few (one per sleeping loop), so a scan beats a heap.
    private var timers: [(id: UInt64, deadline: UInt64, work: () -> Void)] = []
    private var lastTimerID: UInt64 = 0
    /// The deadline the timer waiter sleeps until, if one waits.
    private var timerWaiterDeadline: UInt64?
    private var idleWaiters = 0
    private var isShutDown = false

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        timerCondition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_cond_init(timerCondition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(timerCondition)
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        timerCondition.deallocate()
        condition.deallocate()
        mutex.deallocate()
    }

    func submit(_ work: @escaping () -> Void) {
        // A job submitted from one of this queue's own threads (a task resumed, an actor hop)
        // is taken by that thread once its current job returns: waking a sleeping one would
        // only have two threads contend for the queue and the task's state, and each wake-up
        // is a futex call on both sides. The submitting thread is awake, so nothing is stranded;
        // the cost is that the job waits for the current one to finish.
        let fromWorker = isWorkerThread
        pthread_mutex_lock(mutex)
        items.append(work)
        if !fromWorker { wakeOne() }
        pthread_mutex_unlock(mutex)
    }

    /// Queues `work` to become ready `nanoseconds` from now; returns an ID for `cancelTimer`.
    @discardableResult
    func submit(afterNanoseconds nanoseconds: UInt64, _ work: @escaping () -> Void) -> UInt64 {
        let deadline = Self.now() &+ nanoseconds
        // A sleep is queued by a task that is suspending: from a worker, that worker is back in
        // `next` at once and watches the deadline itself if no one else does.
        let fromWorker = isWorkerThread
        pthread_mutex_lock(mutex)
        lastTimerID &+= 1
        let id = lastTimerID
        timers.append((id, deadline, work))
        if let waiting = timerWaiterDeadline {
            if deadline < waiting { pthread_cond_signal(timerCondition) }
        } else if idleWaiters > 0 && !fromWorker {
            pthread_cond_signal(condition)
        }
        pthread_mutex_unlock(mutex)
        return id
    }

    /// Drops a timed job that has not become ready yet; returns whether it was still waiting.
    /// A waiter sleeping until its deadline is left alone: it wakes, finds nothing due, and
    /// waits for the next one.
    @discardableResult
    func cancelTimer(_ id: UInt64) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard let index = timers.firstIndex(where: { $0.id == id }) else { return false }
        timers.remove(at: index)
        return true
    }

    /// Timed jobs not yet ready.
    var timerCount: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return timers.count
    }

    func shutDown() {
        pthread_mutex_lock(mutex)
        isShutDown = true
        pthread_cond_broadcast(condition)
        pthread_cond_broadcast(timerCondition)
        pthread_mutex_unlock(mutex)
    }

    func workLoop() {
        pthread_setspecific(Self.threadKey, Unmanaged.passUnretained(self).toOpaque())
        while let work = next() { work() }
        pthread_setspecific(Self.threadKey, nil)
    }

    /// Whether the calling thread is one of this queue's workers.
    var isWorkerThread: Bool {
        pthread_getspecific(Self.threadKey) == Unmanaged.passUnretained(self).toOpaque()
    }

    /// Marks each worker thread with its queue (no destructor: the mark is a borrowed pointer).
    private static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        return key
    }()

    /// Wakes an idle worker, or the timer waiter when every other worker is busy. Under `mutex`.
    private func wakeOne() {
        if idleWaiters > 0 {
            pthread_cond_signal(condition)
        } else if timerWaiterDeadline != nil {
            pthread_cond_signal(timerCondition)
        }
    }

    private func next() -> (() -> Void)? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            if !timers.isEmpty { moveDueTimers() }
            if head < items.count { return take() }
            if isShutDown { return nil }
            if timerWaiterDeadline == nil, let earliest = timers.lazy.map(\.deadline).min() {
                timerWaiterDeadline = earliest
                var until = timespec(tv_sec: Int(earliest / 1_000_000_000), tv_nsec: Int(earliest % 1_000_000_000))
                pthread_cond_timedwait(timerCondition, mutex, &until)
                timerWaiterDeadline = nil
            } else {
                idleWaiters += 1
                pthread_cond_wait(condition, mutex)
                idleWaiters -= 1
            }
        }
    }

    /// Takes the first ready job; wakes another worker if more are ready. Under `mutex`.
    private func take() -> () -> Void {
        let work = items[head]!
        items[head] = nil
        head += 1
        // Compact once the consumed prefix dominates, so a long-lived pool does not grow forever.
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        if head < items.count { wakeOne() }
        return work
    }

    /// Moves the timers whose deadline has passed to the ready jobs, in deadline order. Under `mutex`.
    private func moveDueTimers() {
        let now = Self.now()
        guard timers.contains(where: { $0.deadline <= now }) else { return }
        let due = timers.filter { $0.deadline <= now }.sorted { ($0.deadline, $0.id) < ($1.deadline, $1.id) }
        timers.removeAll { $0.deadline <= now }
        for timer in due { items.append(timer.work) }
    }

    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}
