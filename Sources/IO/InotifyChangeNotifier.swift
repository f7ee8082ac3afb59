import Core
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Change notices from Linux's inotify: one descriptor and one thread, blocked in `read`, for
/// every database of the process, so an idle database costs no wake-up at all between commits.
///
/// Each subscription watches its file's inode one-shot (`IN_ONESHOT`): the kernel reports the
/// first change after an `arm` and then drops the watch, so a busy WAL costs one event per pass,
/// not one per write. A watch follows the inode, which is what the monitor needs: SQLite writes
/// the WAL in place, and a WAL that is removed or replaced reports `IN_ATTRIB` (its link count)
/// or `IN_DELETE_SELF` before the name points elsewhere; the next `arm` watches the new file.
/// An overflowing event queue wakes every subscription.
public final class InotifyChangeNotifier: FileChangeNotifier, Sendable {
    private struct State {
        var subscribers: [Int32: [InotifySubscription]] = [:]
        var readerStarted = false
        /// Reading events failed: every watch fails from then on, and the monitors poll.
        var broken = false
    }

    private let descriptor: Int32
    private let state = Mutex(State())

    /// Nil when the kernel refuses an inotify instance (the per-user limit, a sandbox): the
    /// monitor polls then.
    public init?() {
        let descriptor = inotify_init1(Int32(IN_CLOEXEC))
        guard descriptor >= 0 else { return nil }
        self.descriptor = descriptor
    }

    public func subscribe(to path: String) -> (any FileChangeSubscription)? {
        startReader()
        return InotifySubscription(path: path, notifier: self)
    }

    static let watchMask = UInt32(IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF) | UInt32(IN_ONESHOT)

    /// Watches `path` for `subscription`; the watch descriptor, or nil if the file cannot be watched.
    func watch(_ path: String, for subscription: InotifySubscription, replacing old: Int32?) -> Int32? {
        guard !state.withLock({ $0.broken }) else { return nil }
        let wd = inotify_add_watch(descriptor, path, Self.watchMask)
        state.withLock { state in
            if let old, old != wd { state.subscribers[old]?.removeAll { $0 === subscription } }
            if wd >= 0, !(state.subscribers[wd]?.contains { $0 === subscription } ?? false) {
                state.subscribers[wd, default: []].append(subscription)
            }
        }
        return wd >= 0 ? wd : nil
    }

    func unwatch(_ wd: Int32?, for subscription: InotifySubscription) {
        guard let wd else { return }
        let last = state.withLock { state -> Bool in
            state.subscribers[wd]?.removeAll { $0 === subscription }
            guard state.subscribers[wd]?.isEmpty ?? false else { return false }
            state.subscribers[wd] = nil
            return true
        }
        if last { _ = inotify_rm_watch(descriptor, wd) }
    }

    private func startReader() {
        let start = state.withLock { state -> Bool in
            defer { state.readerStarted = true }
            return !state.readerStarted
        }
        guard start else { return }
        var thread = pthread_t()
        // The notifier lives as long as the process (ProductionEnvironment makes one), so the
        // thread keeps it retained and never ends.
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(
            &thread, nil,
            { context in
                Unmanaged<InotifyChangeNotifier>.fromOpaque(context!).takeRetainedValue().readEvents()
                return nil
            }, context)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        pthread_detach(thread)
    }

    /// Returns only if reading fails, which no kernel does short of a bug.
    private func readEvents() {
        let capacity = 64 << 10
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        while true {
            let count = read(descriptor, buffer, capacity)
            guard count > 0 else {
                if count < 0 && errno == EINTR { continue }
                // Nothing more will come: wake every waiter, and let every monitor poll from now on.
                let everyone = state.withLock { state in
                    state.broken = true
                    defer { state.subscribers = [:] }
                    return Array(state.subscribers.values.joined())
                }
                for subscription in everyone { subscription.notice() }
                buffer.deallocate()
                return
            }
            var woken: [InotifySubscription] = []
            var offset = 0
            state.withLock { state in
                while offset + MemoryLayout<inotify_event>.size <= count {
                    let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                    offset += MemoryLayout<inotify_event>.size + Int(event.len)
                    // The end of a watch, one-shot or removed: nothing changed. Its descriptor
                    // may already watch the file anew.
                    if event.mask & UInt32(IN_IGNORED) != 0 { continue }
                    if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                        woken += state.subscribers.values.joined()
                    } else if let subscribers = state.subscribers[event.wd] {
                        woken += subscribers
                        // A one-shot watch is gone once it reported (IN_IGNORED follows).
                        state.subscribers[event.wd] = nil
                    }
                }
            }
            for subscription in woken { subscription.notice() }
        }
    }
}

/// One file's notices from an `InotifyChangeNotifier`.
final class InotifySubscription: FileChangeSubscription, Sendable {
    private let path: String
    private let notifier: InotifyChangeNotifier
    private let signal = WakeSignal()
    private let lock = Mutex<(watch: Int32?, cancelled: Bool)>((nil, false))

    init(path: String, notifier: InotifyChangeNotifier) {
        self.path = path
        self.notifier = notifier
    }

    func arm() -> Bool {
        signal.clear()
        return lock.withLock { state in
            guard !state.cancelled else { return false }
            state.watch = notifier.watch(path, for: self, replacing: state.watch)
            return state.watch != nil
        }
    }

    func wait(timeout: Duration, clock: any Clock<Duration>) async throws -> Bool {
        try await signal.wait(timeout: timeout, clock: clock)
    }

    var hasNotice: Bool { signal.isPending }

    func cancel() {
        lock.withLock { state in
            state.cancelled = true
            notifier.unwatch(state.watch, for: self)
            state.watch = nil
        }
    }

    func notice() { signal.signal() }
}
