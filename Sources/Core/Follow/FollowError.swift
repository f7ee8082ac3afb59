/// Why a follower stopped.
public enum FollowError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The restored database is not in WAL mode, so readers could not keep snapshots.
    case notWALMode(path: String, mode: String)
    /// The wal-index holds something SQLite's writer would not have left: the follower stops
    /// rather than publish frames readers might misread.
    case walIndexUnreadable(path: String)
    /// A new segment does not continue the applied WAL (its bytes, checksums or the seal that
    /// records where the previous index ended disagree with what was applied).
    case discontinuity(Position, reason: String)
    /// A newer generation has another page size than the output: a WAL cannot change it.
    case pageSizeChanged(path: String, from: Int, to: Int)

    public var description: String {
        switch self {
        case .notWALMode(let path, let mode):
            return "\(path) is in journal mode \(mode), not WAL; a followed restore must be a WAL database"
        case .walIndexUnreadable(let path):
            return "\(path) is not a wal-index this follower can extend; "
                + "stop every writer of the restored database and restore again"
        case .pageSizeChanged(let path, let from, let to):
            return "the replica's newest generation has pages of \(to) bytes, \(path) of \(from): "
                + "a read replica cannot change its page size; restore it again into a new file"
        case .discontinuity(let position, let reason):
            return "WAL at \(position) does not continue the restored database: \(reason); "
                + "restore again without --follow to inspect"
        }
    }
}
