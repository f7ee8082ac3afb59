/// Fatal problems of `replicate`, each with a message a user can act on.
public enum ReplicationError: Error, Equatable, Sendable, CustomStringConvertible {
    case databaseNotFound(path: String)
    case notADatabase(path: String)
    case walModeUnavailable(path: String, mode: String)
    case sqlite(path: String, message: String)
    case noReplicas
    case shadowCorrupt(path: String, reason: String)

    public var description: String {
        switch self {
        case .databaseNotFound(let path):
            return "database \(path) does not exist: create it first or check the path"
        case .notADatabase(let path):
            return "\(path) is not a SQLite database"
        case .walModeUnavailable(let path, let mode):
            return "cannot switch \(path) to WAL mode (journal_mode is \(mode)); is another process holding it in exclusive mode?"
        case .sqlite(let path, let message):
            return "\(path): \(message)"
        case .noReplicas:
            return "no replica given: name at least one replica URL"
        case .shadowCorrupt(let path, let reason):
            return "local shadow WAL \(path) is unusable (\(reason)); remove the folder to start a new generation"
        }
    }
}
