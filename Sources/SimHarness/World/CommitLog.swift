import Core

/// What the oracle knows about the source database and the replicator: the content digest after
/// every committed transaction (numbered by the `meta.n` counter each one increments, which is
/// also the WAL-visible commit order, the app being the only writer), when each was committed,
/// and the positions the replicator reported replicated. Touched only on the simulator thread.
///
/// ### Epochs
/// A power loss may cut the source back to an earlier commit k (the app runs with
/// `synchronous=NORMAL`, so commits since the last WAL sync are not durable). Commits k+1... of
/// the old history stay real for the replica, which may hold them, but the source continues
/// with a *different* commit k+1. Each such cut starts a new epoch: `digests` and `commitTimes`
/// are the current epoch's history (sharing 0...k with the previous one), and `retired` keeps the
/// whole history of every earlier epoch, so a restore can be matched to the history it came from.
// @unchecked: touched only on the simulator's one thread.
public final class CommitLog: @unchecked Sendable {
    /// `digests[n]` is the table's content after commit n, in the current epoch.
    public private(set) var digests: [ContentDigest] = []
    /// `commitTimes[n]` is the simulated wall-clock time commit n returned to the app.
    public private(set) var commitTimes: [Timestamp] = []
    /// Earlier epochs' complete histories (digests and times), oldest first; epoch e < `epoch`
    /// is `retired[e]`.
    public private(set) var retired: [(digests: [ContentDigest], times: [Timestamp])] = []
    /// Per replica location, the furthest position reported replicated, the commit count when it
    /// was reported, the epoch of the source then and when.
    public private(set) var replicated: [String: Report] = [:]
    /// Per replica location, the first and last report of each generation, in the order
    /// generations were first reported: from when a generation held something, and how far its
    /// history reached before a newer one replaced it.
    public private(set) var generationReports: [String: [(first: Report, last: Report)]] = [:]
    /// Reported positions a probe restored exactly, with the commit each holds, in report order:
    /// lower bounds for point-in-time restores (invariant 3) and retention checks (invariant 5).
    public private(set) var verified: [VerifiedReport] = []
    /// The largest the source's WAL file was after any commit, in bytes. Not an invariant: a WAL
    /// that runs away passes every check once the replicator catches up, and three such bugs
    /// were found only by reading this figure (docs/simulation.md).
    public private(set) var largestWAL: Int64 = 0

    /// A position a replicator reported replicated.
    public struct Report: Sendable {
        public var position: Position
        public var commitsThen: Int
        public var epoch: Int
        public var time: Timestamp
    }

    /// The first violation an observer found that could not throw it (one that watches the disk
    /// from inside its calls); the app's loop and the end of the run throw it.
    public private(set) var deferredViolation: InvariantViolation?

    /// A reported position together with the commit a restore to exactly it holds.
    public struct VerifiedReport: Sendable {
        public var report: Report
        public var commit: Int
    }

    /// The simulated wall clock commit and report times are read from; set by the world.
    var wallClock: () -> Timestamp = { Timestamp(millisecondsSince1970: 0) }

    public init() {}

    /// The current epoch: how many power losses cut commits from the source.
    public var epoch: Int { retired.count }

    public var lastCommit: Int { digests.count - 1 }

    func record(commit: Int, digest: ContentDigest) {
        precondition(commit == digests.count, "commits must be recorded in order")
        digests.append(digest)
        commitTimes.append(wallClock())
        SimTrace.record("commit", UInt64(commit))
    }

    func recordWAL(size: Int64) {
        largestWAL = max(largestWAL, size)
    }

    /// While set (the liveness window), the frames of the WAL's current lifetime after each
    /// commit, with the commit's time (`LivenessBounds`).
    var walFrames: [WALSample]?

    /// The WAL's frames after a commit, with when, and the replicator's preemption pauses so far.
    struct WALSample {
        var time: Timestamp
        var frames: Int
        var replicatorPaused: Duration = .zero
    }

    /// The replicator's preemption pauses so far, for the samples; set by the world.
    var replicatorPaused: () -> Duration = { .zero }

    func recordWAL(frames: Int) {
        walFrames?.append(WALSample(time: wallClock(), frames: frames, replicatorPaused: replicatorPaused()))
    }

    /// Keeps `violation` for `throwIfViolated` (the first one only) and traces it.
    func recordViolation(_ violation: InvariantViolation) {
        guard deferredViolation == nil else { return }
        deferredViolation = violation
        SimTrace.record("violation: \(violation)")
    }

    /// Throws the violation an observer found, if any.
    func throwIfViolated() throws {
        if let deferredViolation { throw deferredViolation }
    }

    func reportReplicated(replica: String, position: Position) {
        let report = Report(position: position, commitsThen: digests.count - 1, epoch: epoch, time: wallClock())
        replicated[replica] = report
        if let known = generationReports[replica]?.lastIndex(where: {
            $0.last.position.generation == position.generation
        }) {
            generationReports[replica]![known].last = report
        } else {
            generationReports[replica, default: []].append((report, report))
        }
        SimTrace.record("replicated \(position)")
    }

    /// Notes that `report` restored exactly to `commit`. A report verified late (an older
    /// generation's last one) is inserted in report order.
    func recordVerified(_ report: Report, commit: Int) {
        if isVerified(report) { return }
        let after = verified.lastIndex { $0.report.time <= report.time }.map { $0 + 1 } ?? 0
        verified.insert(VerifiedReport(report: report, commit: commit), at: after)
    }

    /// Whether a probe already restored `report` exactly.
    func isVerified(_ report: Report) -> Bool {
        verified.contains { $0.report.position == report.position && $0.report.time == report.time }
    }

    /// The source came back at `commit` after a power loss: later commits of the current history
    /// are gone from it. Starts a new epoch when any were lost.
    func cut(to commit: Int) {
        precondition(commit <= lastCommit && commit >= 0, "cut to \(commit) of \(lastCommit)")
        guard commit < lastCommit else { return }
        retired.append((digests, commitTimes))
        digests.removeSubrange((commit + 1)...)
        commitTimes.removeSubrange((commit + 1)...)
        SimTrace.record("epoch \(epoch) starts at commit", UInt64(commit))
    }

    /// The epochs whose history holds `digest` as commit `commit`, ascending (the current epoch
    /// last). Empty means no history ever held that state.
    func epochs(holding commit: Int, digest: ContentDigest) -> [Int] {
        var result: [Int] = []
        for (number, history) in retired.enumerated()
        where commit >= 0 && commit < history.digests.count && history.digests[commit] == digest {
            result.append(number)
        }
        if commit >= 0, commit < digests.count, digests[commit] == digest { result.append(epoch) }
        return result
    }

    /// When commit `commit` of epoch `epoch` returned to the app.
    func commitTime(_ commit: Int, epoch number: Int) -> Timestamp {
        number == epoch ? commitTimes[commit] : retired[number].times[commit]
    }
}
