/// When the next scheduled snapshot is due.
///
/// The schedule runs from the last snapshot's time, not from process start. Litestream first
/// used a ticker started with the process, so a replicator restarted more often than its
/// `snapshot-interval` (a deploy a day, a crash loop) reset the ticker every time and never
/// took a scheduled snapshot at all; d02ba97 (#480) anchored the first tick to the last
/// snapshot. Generation-start snapshots are separate: the engine always takes one when a
/// generation begins, whatever this schedule says.
public enum SnapshotSchedule {
    /// The time the next scheduled snapshot is due.
    ///
    /// - Parameters:
    ///   - lastSnapshot: when the newest snapshot of the current generation was taken (from the
    ///     replica listing), or nil if there is none.
    ///   - interval: `snapshot-interval`; nil, zero or negative means no scheduled snapshots
    ///     (Litestream's configs spell "off" as `snapshot-interval: 0`).
    ///   - now: the current wall-clock time.
    /// - Returns: nil without a positive interval; `now` without a last snapshot or when the due time
    ///   has already passed (one catch-up snapshot, not one per missed interval); otherwise
    ///   `lastSnapshot + interval`.
    public static func nextSnapshot(after lastSnapshot: Timestamp?, interval: Duration?, now: Timestamp) -> Timestamp? {
        guard let interval, interval > .zero else { return nil }
        guard let lastSnapshot else { return now }
        let due = lastSnapshot + interval
        return due < now ? now : due
    }

    /// Whether a snapshot labelled with WAL index `index` adds anything to a generation whose
    /// newest snapshot on the replica is labelled `newestSnapshotIndex`.
    ///
    /// Not at the same index: snapshots are keyed by their index, so the new one would replace
    /// the old one, and with it every restore point between the two (a restore to a time uses a
    /// snapshot taken by then, and the only one left was taken later). It would not shorten a
    /// restore either: a restore replays the snapshot's index from its start whatever the
    /// snapshot holds. The replicator checkpoints first, so that the WAL moves on to the next
    /// index, and takes the snapshot there.
    public static func isWorthTaking(atIndex index: UInt64?, newestSnapshotIndex: UInt64?) -> Bool {
        guard let index, let newestSnapshotIndex else { return true }
        return index != newestSnapshotIndex
    }
}
