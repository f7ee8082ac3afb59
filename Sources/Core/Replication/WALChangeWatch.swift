/// Decides when the monitor runs a shadow pass: once the WAL looks different from how it looked
/// before the last pass and `minimumGap` has gone by since it, and in any case every
/// `monitorInterval`; and when it looks next.
///
/// A look is a `stat` of the `-wal` file, one system call, so the monitor can look often and a
/// commit reaches the shadow, and from there the replicas, within a fraction of the monitor
/// interval. The gap is the replicas' sync interval: a replica uploads at most that often, right
/// after a pass, so more passes would only cost CPU (each one ends with an fsync) without any
/// commit reaching a replica sooner; and a change seen before the gap is over is not looked at
/// again until the gap ends. Looks start `fastest` apart after a change and back off, doubling,
/// to `slowest` while the WAL stays the same: an idle database is looked at twice a second, which
/// is what keeps an idle replicator's CPU time negligible (each look wakes a thread).
/// Size and modification time miss a rewrite in place within the clock's resolution; the pass
/// every `monitorInterval` catches that, as every pass did before.
///
/// With change notices (`FileChangeSubscription`, `isNotified`) the monitor does not look on a
/// timer at all: it waits for a notice, and a notice counts as a change whatever the look shows
/// (so the resolution hole closes too). The pass that runs regardless comes every
/// `notifiedPassInterval` instead: it only covers a notice that never came.
public struct WALChangeWatch: Sendable {
    public let monitorInterval: Duration
    public let minimumGap: Duration
    public let fastest: Duration
    public let slowest: Duration
    /// The longest time between passes while notices arrive.
    public let notifiedPassInterval: Duration
    /// Whether change notices are armed for the next wait: the monitor sets it each round.
    public var isNotified = false
    /// How long the monitor sleeps before its next look.
    public private(set) var nextLook: Duration
    /// Whether the monitor waits that long for a change notice (true) or simply sleeps.
    public private(set) var waitsForNotice = false
    /// A notice came that no pass has answered yet.
    private var noticePending = false
    /// What the last pass saw before it ran; `.some(nil)` is a missing WAL, `nil` no pass yet.
    private var seenBeforePass: FileStat??
    private var lastSeen: FileStat??
    /// Starts as if the last pass were long ago: the first look always passes.
    private var sinceLastPass: Duration

    public init(
        monitorInterval: Duration, minimumGap: Duration, fastest: Duration, slowest: Duration,
        notifiedPassInterval: Duration? = nil
    ) {
        self.monitorInterval = monitorInterval
        self.notifiedPassInterval = max(monitorInterval, notifiedPassInterval ?? monitorInterval)
        self.minimumGap = min(minimumGap, monitorInterval)
        self.fastest = min(fastest, monitorInterval)
        self.slowest = max(self.fastest, min(slowest, monitorInterval))
        nextLook = self.fastest
        sinceLastPass = monitorInterval
    }

    /// Whether to run a pass now, given what the WAL looks like (`.some(nil)`: missing; `nil`:
    /// the look failed, which always passes) and whether a change notice came since the last
    /// look. Records the look as the pass's when it says yes.
    public mutating func shouldPass(looked seen: FileStat??, noticed: Bool = false) -> Bool {
        if noticed { noticePending = true }
        let changedSinceLook = noticed || seen == nil || seen != lastSeen
        let changedSincePass = noticePending || seen == nil || seen != seenBeforePass
        lastSeen = seen
        let passInterval = isNotified ? notifiedPassInterval : monitorInterval
        let due = sinceLastPass >= passInterval || seen == nil || (changedSincePass && sinceLastPass >= minimumGap)
        if due {
            seenBeforePass = seen
            sinceLastPass = .zero
            noticePending = false
        }
        waitsForNotice = false
        if changedSincePass && !due {
            // The pass is already decided: look again when the gap is over, not every `fastest`
            // meanwhile (nine wake-ups a second under steady load at the default gap).
            nextLook = max(minimumGap - sinceLastPass, .milliseconds(1))
        } else if isNotified {
            // Nothing to look at until a notice comes, or the pass that runs regardless is due.
            nextLook = max(passInterval - sinceLastPass, .milliseconds(1))
            waitsForNotice = true
        } else {
            // A change is looked at again soon; a quiet WAL ever less often.
            nextLook = changedSinceLook ? fastest : min(slowest, nextLook * 2)
        }
        return due
    }

    /// Change notices stopped working: look on the timer again, starting now.
    public mutating func stopNotices() {
        isNotified = false
        waitsForNotice = false
        nextLook = fastest
    }

    /// Time went by between two looks.
    public mutating func elapsed(_ duration: Duration) {
        sinceLastPass += duration
    }
}
