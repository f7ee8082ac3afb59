import Glibc
import Synchronization

/// The runtime's global-enqueue hook, used as a safety net while simulation runs are active:
/// jobs enqueued on the global executor from a simulator thread are captured into that run (and
/// reported as an escape); every other thread's jobs pass through to the runtime untouched.
///
/// The hook is process-wide, so it is installed when the first run starts and restored when the
/// last one ends. Runs on different threads do not disturb each other: the hook finds the run
/// through the calling thread's identity.
enum GlobalEnqueueHook {
    typealias Original = @convention(thin) (UnownedJob) -> Void
    typealias Hook = @convention(thin) (UnownedJob, Original) -> Void

    private struct Installation {
        var activeRuns = 0
        var previous: Hook?
    }

    private static let installation = Mutex(Installation())

    // nonisolated(unsafe): the pointer is fixed once found; its pointee is written only under `installation`'s lock.
    nonisolated(unsafe) private static let hookPointer: UnsafeMutablePointer<Hook?>? = {
        guard let process = dlopen(nil, RTLD_NOW),
            let symbol = dlsym(process, "swift_task_enqueueGlobal_hook")
        else { return nil }
        return symbol.assumingMemoryBound(to: Hook?.self)
    }()

    /// Whether the runtime exports the hook; without it only the executor preference protects a run.
    static var isAvailable: Bool { hookPointer != nil }

    static func retain() {
        guard let pointer = hookPointer else { return }
        installation.withLock { state in
            if state.activeRuns == 0 {
                state.previous = pointer.pointee
                pointer.pointee = { job, original in
                    if let scheduler = SimScheduler.current {
                        scheduler.captureGlobalEnqueue(job)
                    } else {
                        original(job)
                    }
                }
            }
            state.activeRuns += 1
        }
    }

    static func release() {
        guard let pointer = hookPointer else { return }
        installation.withLock { state in
            state.activeRuns -= 1
            if state.activeRuns == 0 { pointer.pointee = state.previous }
        }
    }
}

/// Which scheduler drives the current thread, if any.
enum SimThread {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        return key
    }()

    static var current: SimScheduler? {
        guard let raw = pthread_getspecific(key) else { return nil }
        return Unmanaged<SimScheduler>.fromOpaque(raw).takeUnretainedValue()
    }

    static func set(_ scheduler: SimScheduler?) {
        pthread_setspecific(key, scheduler.map { Unmanaged.passUnretained($0).toOpaque() })
    }
}
