import Core
import Synchronization

/// Change notices over a simulated disk, as inotify gives them: one-shot watches on a file's
/// node, fired by any process's write, truncation or unlink of it, and by a rename over it.
///
/// `dropRate` loses that share of notices on purpose, so seeds prove that a notice that never
/// comes delays a change by at most `notifiedPassInterval` and loses nothing (production loses
/// none short of a bug, but a hint the engine trusts must not be load-bearing). Drops are drawn
/// from the notifier's own random stream, only when a notice fires.
public final class SimChangeNotifier: FileChangeNotifier, Sendable {
    let disk: SimDisk
    let dropRate: Double
    let random: any RandomSource

    public init(disk: SimDisk, dropRate: Double, random: any RandomSource) {
        self.disk = disk
        self.dropRate = dropRate
        self.random = random
    }

    public func subscribe(to path: String) -> (any FileChangeSubscription)? {
        SimChangeSubscription(path: path, notifier: self)
    }
}

/// One file's notices from a `SimChangeNotifier`.
// @unchecked: `cancelled` is touched under the disk's lock only.
final class SimChangeSubscription: FileChangeSubscription, @unchecked Sendable {
    let path: String
    private let notifier: SimChangeNotifier
    private let signal = WakeSignal()
    var cancelled = false

    init(path: String, notifier: SimChangeNotifier) {
        self.path = path
        self.notifier = notifier
    }

    func arm() -> Bool {
        signal.clear()
        return notifier.disk.armChangeWatch(self)
    }

    func wait(timeout: Duration, clock: any Clock<Duration>) async throws -> Bool {
        try await signal.wait(timeout: timeout, clock: clock)
    }

    var hasNotice: Bool { signal.isPending }

    func cancel() {
        notifier.disk.cancelChangeWatch(self)
    }

    /// Called by the disk, under its lock, when the watched node changed.
    func notice() {
        if notifier.dropRate > 0 && notifier.random.unitInterval() < notifier.dropRate { return }
        signal.signal()
    }
}

extension SimDisk {
    /// Watches the node `subscription.path` names now; false when there is none.
    func armChangeWatch(_ subscription: SimChangeSubscription) -> Bool {
        mutex.withLock {
            guard !subscription.cancelled, let (node, _) = liveFileNode(at: subscription.path) else { return false }
            for id in changeWatches.keys { changeWatches[id]?.removeAll { $0 === subscription } }
            changeWatches[node, default: []].append(subscription)
            return true
        }
    }

    func cancelChangeWatch(_ subscription: SimChangeSubscription) {
        mutex.withLock {
            subscription.cancelled = true
            for id in changeWatches.keys { changeWatches[id]?.removeAll { $0 === subscription } }
        }
    }

    /// Fires, and drops (one-shot), the watches on `node`. Called with the disk locked.
    func noticeChange(of node: Int) {
        guard let watches = changeWatches.removeValue(forKey: node) else { return }
        for subscription in watches { subscription.notice() }
    }
}
