/// Fatal problems of `replicate`, each with a message a user can act on.
public enum ReplicationError: Error, Equatable, Sendable, CustomStringConvertible {
    case databaseNotFound(path: String)
    case notADatabase(path: String)
    case walModeUnavailable(path: String, mode: String)
    case sqlite(path: String, message: String)
    case noReplicas
    case shadowCorrupt(path: String, reason: String)

    /// Whether trying again may get past it: SQLite's errors (an I/O error, a busy lock) and a
    /// damaged shadow (a new generation replaces it) may; a wrong path, a file that is not a
    /// database, a database that cannot use WAL mode and a missing replica list stay as they are.
    public var mayPass: Bool {
        switch self {
        case .sqlite, .shadowCorrupt: return true
        case .databaseNotFound, .notADatabase, .walModeUnavailable, .noReplicas: return false
        }
    }

    public var description: String {
        switch self {
        case .databaseNotFound(let path):
            return "database \(path) does not exist: create it first or check the path"
        case .notADatabase(let path):
            return "\(path) is not a SQLite database"
        case .walModeUnavailable(let path, let mode):
            return
                "cannot switch \(path) to WAL mode (journal_mode is \(mode)); is another process holding it in exclusive mode?"
        case .sqlite(let path, let message):
            return "\(path): \(message)"
        case .noReplicas:
            return "no replica given: name at least one replica URL"
        case .shadowCorrupt(let path, let reason):
            return "local shadow WAL \(path) is unusable (\(reason)); remove the folder to start a new generation"
        }
    }
}
