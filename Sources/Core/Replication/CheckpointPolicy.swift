// Why Sluice checkpoints the way it does.
//
// The replicator keeps a read transaction open on the database at all times (except inside
// its own checkpoint). That read mark pins the WAL: no other connection can complete a
// checkpoint past it or restart the WAL under it, so the application's own checkpoints become
// partial and the WAL only stops growing when the replicator checkpoints. Checkpointing is
// therefore the replicator's duty, and the mode it picks decides who pays:
//
// - PASSIVE copies what it can without taking any lock that blocks readers or writers. It may
//   leave work undone, which is harmless: the next decision simply fires again. It is the
//   ordinary mode, used past a page threshold and after an idle interval.
// - RESTART blocks new writers while it waits for every reader to finish. Under long readers
//   that is an outage: Litestream's RESTART at max-checkpoint-page-count turned an app into
//   100 % SQLITE_BUSY (Litestream #724, and why v0.5 deleted the mode). Sluice never uses it:
//   after a complete PASSIVE checkpoint the replicator restarts the WAL itself, with a small
//   write of its own, while it still controls the sequence.
// - TRUNCATE also blocks writers until readers finish, then cuts the WAL file to zero. It is
//   only an emergency brake for a WAL that runs away (a reader that never lets PASSIVE finish);
//   the engine tries PASSIVE first and bounds how long writers can be blocked with the busy
//   timeout, so the brake costs at most that long.
//
// Order of the rules: the brake first (a runaway WAL must be stopped even if a threshold would
// also fire), then the page threshold, then the idle interval; the first match wins.

/// When the replicator checkpoints its database, as a pure decision over a `CheckpointState`.
///
/// Defaults follow Litestream v0.3.13's (`MinCheckpointPageN` 1000, `CheckpointInterval` 1 min,
/// `TruncatePageN` 500 000, about 2 GB at 4 KiB pages) without its RESTART rule.
public struct CheckpointPolicy: Sendable, Equatable {
    /// PASSIVE once the current WAL index holds this many frames (counted in the shadow copy of
    /// the index, as Litestream does, so frames the replicator has not yet validated do not
    /// count). Config key `min-checkpoint-page-count`.
    public var minimumPages: Int
    /// PASSIVE when no new frames arrived for this long, the WAL holds more than one frame, and
    /// no checkpoint ran within the same interval; nil disables it. Keeps WAL indexes rolling
    /// over while the database is idle, so point-in-time restore has a fine grain even then.
    /// Config key `checkpoint-interval`.
    public var idleInterval: Duration?
    /// Emergency brake: TRUNCATE once the real WAL holds this many frames; nil disables it.
    /// Config key `truncate-page-count`.
    public var truncatePages: Int?

    public init(minimumPages: Int = 1000, idleInterval: Duration? = .seconds(60), truncatePages: Int? = 500_000) {
        self.minimumPages = minimumPages
        self.idleInterval = idleInterval
        self.truncatePages = truncatePages
    }

    /// The policy itself, or the first setting that cannot work.
    /// - Throws: `ConfigurationError` when `minimumPages < 1`, `truncatePages <= minimumPages`
    ///   or `idleInterval <= 0`.
    public func validated() throws -> CheckpointPolicy {
        guard minimumPages >= 1 else { throw ConfigurationError.minimumCheckpointPagesTooSmall(minimumPages) }
        if let truncatePages, truncatePages <= minimumPages {
            throw ConfigurationError.truncatePagesNotAboveMinimum(
                truncatePages: truncatePages, minimumPages: minimumPages)
        }
        if let idleInterval, idleInterval <= .zero {
            throw ConfigurationError.checkpointIntervalNotPositive(idleInterval)
        }
        return self
    }

    /// Which checkpoint to run now, or nil for none. Evaluated after each sync; the first rule
    /// that matches wins: TRUNCATE brake, page threshold, idle interval.
    public func decide(_ state: CheckpointState) -> CheckpointDecision? {
        // The brake looks at the real WAL, not the shadow: what runs away is the file on disk,
        // including frames the replicator has not copied yet.
        if let truncatePages, state.walFrames >= truncatePages {
            return .truncate(
                reason: "wal holds \(state.walFrames) frames, at or above truncate-page-count \(truncatePages)")
        }
        if state.shadowFrames >= minimumPages {
            return .passive(
                reason:
                    "wal index holds \(state.shadowFrames) frames, at or above min-checkpoint-page-count \(minimumPages)"
            )
        }
        guard let idleInterval, state.sinceLastNewFrames >= idleInterval else { return nil }
        // After the replicator's own checkpoint restarts the WAL, its bump write leaves exactly
        // one frame behind. Checkpointing that frame would write another bump, upload another
        // tiny segment and roll another index, forever, on an idle database: the feedback loop
        // Litestream #422 found. One frame or less is "nothing new".
        guard state.walFrames > 1 else { return nil }
        // If a reader kept the last checkpoint from completing, the WAL was not restarted and
        // still holds more than one frame; without this check the idle rule would fire on every
        // sync. At most one idle checkpoint per interval (Litestream gets the same effect by
        // comparing the database file's mtime, which a checkpoint touches).
        if let sinceLastCheckpoint = state.sinceLastCheckpoint, sinceLastCheckpoint < idleInterval {
            return nil
        }
        return .passive(
            reason:
                "no new wal frames for \(DurationParser.format(state.sinceLastNewFrames)), idle past checkpoint-interval \(DurationParser.format(idleInterval))"
        )
    }
}

/// What the replicator knows about its WAL when it decides whether to checkpoint.
public struct CheckpointState: Sendable, Equatable {
    /// Valid frames in the real `-wal` file (its size aligned down to a frame boundary).
    public var walFrames: Int
    /// Frames copied into the current shadow WAL index.
    public var shadowFrames: Int
    /// Time since the WAL last grew.
    public var sinceLastNewFrames: Duration
    /// Time since the replicator's last checkpoint, or nil if it has not run one since start.
    public var sinceLastCheckpoint: Duration?

    public init(walFrames: Int, shadowFrames: Int, sinceLastNewFrames: Duration, sinceLastCheckpoint: Duration? = nil) {
        self.walFrames = walFrames
        self.shadowFrames = shadowFrames
        self.sinceLastNewFrames = sinceLastNewFrames
        self.sinceLastCheckpoint = sinceLastCheckpoint
    }
}

/// A checkpoint to run, with the reason to log. There is deliberately no RESTART case.
public enum CheckpointDecision: Sendable, Equatable {
    /// `PRAGMA wal_checkpoint(PASSIVE)`: never blocks the application; may do nothing.
    case passive(reason: String)
    /// `PRAGMA wal_checkpoint(TRUNCATE)`, after a PASSIVE attempt, with writers blocked for at
    /// most the busy timeout.
    case truncate(reason: String)

    /// The reason, for logs.
    public var reason: String {
        switch self {
        case .passive(let reason), .truncate(let reason): return reason
        }
    }
}
