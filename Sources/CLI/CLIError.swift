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
    case noConfig(command: String)
    case notInConfig(path: String, config: String)
    case replicaNotInConfig(name: String, database: String, known: [String])
    case configWithReplicaURL
    case flagNeedsArguments(flag: String)
    case configWithArguments
    case flagAndConfigKey(flag: String, config: String)
    case replicaNameWithURL

    var description: String {
        switch self {
        case .invalidDuration(let flag, let value):
            return "--\(flag): '\(value)' is not a duration; use a number with a unit, like 500ms, 10s, 5m, 24h"
        case .zeroInterval(let flag):
            return "--\(flag) must be longer than zero"
        case .invalidTimestamp(let value):
            return "--timestamp: '\(value)' is not an RFC 3339 time; use e.g. 2026-01-02T15:04:05Z"
        case .invalidGeneration(let value):
            return
                "--generation: '\(value)' is not a generation name (16 lowercase hex digits); see 'sluice generations'"
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
        case .noConfig(let command):
            return
                "no config file found (looked for $SLUICE_CONFIG, ./sluice.yml, /etc/sluice.yml): pass -config PATH, or \(command)"
        case .notInConfig(let path, let config):
            return
                "\(path): database is not in \(config) and no replicas are recorded beside it; add it to the config or pass a replica URL"
        case .replicaNotInConfig(let name, let database, let known):
            guard !known.isEmpty else {
                return "-replica \(name): \(database) is not in a config file, so its replicas have no names"
            }
            return
                "-replica \(name): \(database) has no replica of that name; its replicas are \(known.joined(separator: ", "))"
        case .flagNeedsArguments(let flag):
            return
                "--\(flag) applies to 'replicate DB_PATH REPLICA_URL'; with a config file, set \(flag) in the file instead"
        case .flagAndConfigKey(let flag, let config):
            return "--\(flag) was given and \(config) sets \(flag): too; give one or the other"
        case .configWithArguments:
            return "-config names a config file, but DB_PATH REPLICA_URL were given too; give one or the other"
        case .replicaNameWithURL:
            return "-replica picks a configured replica of a DB_PATH; with a REPLICA_URL argument, leave it out"
        case .configWithReplicaURL:
            return "-config names a config file, but the argument is a replica URL; give one or the other"
        }
    }

    /// A user-facing line for any error: its `description` when it has one (Core and IO errors all
    /// do), never Swift's structural dump of an enum.
    static func describe(_ error: Error) -> String {
        String(describing: error)
    }
}
