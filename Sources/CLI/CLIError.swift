import Core

/// Failures the command line itself detects: bad flag values, flag combinations, and outcomes a
/// user must act on. Errors from Core and IO pass through as they are; `describe` prints them.
enum CLIError: Error, CustomStringConvertible {
    case invalidDuration(flag: String, value: String)
    case zeroInterval(flag: String)
    case invalidTimestamp(String)
    case invalidGeneration(String)
    case invalidNumber(flag: String, value: String)
    case invalidLayout(String)
    case invalidLogLevel(String)
    case flagRequires(flag: String, required: String)
    case flagsExclusive(String, String)
    case outputRequired(replicaURL: String)
    case noRecordedReplicas(databasePath: String)
    case outputExists(path: String)
    case noBackups(replicas: [String])
    case generationNotFound(Generation, replicas: [String])
    case databaseMissing(path: String)

    var description: String {
        switch self {
        case .invalidDuration(let flag, let value):
            return "--\(flag): '\(value)' is not a duration; use a number with a unit, like 500ms, 10s, 5m, 24h"
        case .zeroInterval(let flag):
            return "--\(flag) must be longer than zero"
        case .invalidTimestamp(let value):
            return "--timestamp: '\(value)' is not an RFC 3339 time; use e.g. 2026-01-02T15:04:05Z"
        case .invalidGeneration(let value):
            return "--generation: '\(value)' is not a generation name (16 lowercase hex digits); see 'sluice generations'"
        case .invalidNumber(let flag, let value):
            return "--\(flag): '\(value)' is not a non-negative integer"
        case .invalidLayout(let value):
            return "--layout: '\(value)' is not a layout; use grouped or legacy"
        case .invalidLogLevel(let value):
            return "log level '\(value)' is not one of trace, debug, info, notice, warning, error, critical"
        case .flagRequires(let flag, let required):
            return "--\(flag) requires --\(required)"
        case .flagsExclusive(let first, let second):
            return "--\(first) and --\(second) cannot be used together"
        case .outputRequired(let url):
            return "restoring from a replica URL (\(url)) needs an output path: add -o PATH"
        case .noRecordedReplicas(let path):
            return "\(path): no replicas are recorded for this database; pass a replica URL instead"
        case .outputExists(let path):
            return "\(path): output already exists; choose another -o path or remove it first"
        case .noBackups(let replicas):
            return "no backups found on \(replicas.joined(separator: ", "))"
        case .generationNotFound(let generation, let replicas):
            return "generation \(generation) not found on \(replicas.joined(separator: ", ")); see 'sluice generations'"
        case .databaseMissing(let path):
            return "\(path): database does not exist"
        }
    }

    /// A user-facing line for any error: its `description` when it has one (Core and IO errors all
    /// do), never Swift's structural dump of an enum.
    static func describe(_ error: Error) -> String {
        String(describing: error)
    }
}
