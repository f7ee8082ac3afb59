/// Tells the engine when a file may have changed, so that an idle database costs nothing between
/// commits: without it the monitor looks at the WAL (a `stat`) twice a second and passes once a
/// monitor interval, and twenty idle databases in one process cost twenty times that.
///
/// A notice is a hint, never the truth: the monitor still looks at the file before it decides,
/// and still passes every `ReplicationOptions.notifiedPassInterval`, so a lost notice delays a
/// change by at most that long and never loses it; and a pass that finds frames no notice
/// announced turns the notices off for that database (it polls from then on). Production
/// watches inodes with inotify; the simulator reports its disk's writes, and drops some notices
/// on purpose.
public protocol FileChangeNotifier: Sendable {
    /// A subscription to changes of the file at `path`; nil when this notifier cannot watch
    /// anything (the caller polls instead).
    func subscribe(to path: String) -> (any FileChangeSubscription)?
}

/// One file's change notices, for one waiting loop.
///
/// One-shot, like the file system's watches it stands for: `arm` asks for a notice of the next
/// change from now on, and a notice, once given, is not given again until the next `arm`. Arm
/// before looking at the file, so that a change made while the caller reads it is noticed too.
public protocol FileChangeSubscription: AnyObject, Sendable {
    /// Asks for a notice of the file's next change: a write, a truncation, its removal or
    /// replacement. Returns false when the file cannot be watched now (it does not exist): the
    /// caller sleeps and looks instead, this time.
    func arm() -> Bool
    /// Returns true once a change was noticed since the last `arm` (at once if one already
    /// was), false after `timeout` on `clock`; throws `CancellationError` when cancelled.
    func wait(timeout: Duration, clock: any Clock<Duration>) async throws -> Bool
    /// Whether a notice came since the last `arm` that no `wait` took yet.
    var hasNotice: Bool { get }
    /// Stops watching; later arms fail.
    func cancel()
}
