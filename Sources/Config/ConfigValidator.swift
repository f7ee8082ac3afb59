import Core
import IO
import Logging

/// Checks a parsed config file's values against each other and resolves them into
/// `ReplicationSettings`: one `ConfigError` (file, line, key) for the first problem found.
///
/// Strict where Litestream is silent: a database or replica without what it needs, two
/// databases with one path, two replicas (of any databases) on one location, a replica name
/// used twice in a database, keys that do not apply to a replica's type.
public struct ConfigValidator {
    let file: ConfigFile
    /// For `~` in paths and credentials the file does not give.
    let environment: [String: String]

    public init(file: ConfigFile, environment: [String: String]) {
        self.file = file
        self.environment = environment
    }

    /// Notes about accepted keys that change nothing (`validation-interval`), for the log.
    public internal(set) var notes: [String] = []

    public mutating func validate() throws(ConfigError) -> ReplicationSettings {
        let logging = try validateLogging()
        if let addr = file.addr { try Self.checkAddress(addr, file: file.path) }
        if let exec = file.exec { try Self.checkCommand(exec, file: file.path) }
        guard !file.databases.isEmpty else {
            throw ConfigError(
                file: file.path, line: file.databasesLine, key: "dbs",
                problem: "no databases are configured; add a list of databases, each with a path and replicas")
        }
        var databases: [DatabaseSettings] = []
        var paths: [String: DatabaseSection] = [:]
        var locations = LocationRegistry(file: file.path)
        for section in file.databases {
            let database = try validate(section)
            if let first = paths[database.path] {
                throw ConfigError(
                    file: file.path, line: section.path!.line, key: section.path!.key,
                    problem: "the same database as \(first.key) (line \(first.line)); list each database once")
            }
            paths[database.path] = section
            for (replica, replicaSection) in zip(database.replicas, section.replicas) {
                try locations.register(replica.url, section: replicaSection)
            }
            databases.append(database)
        }
        let exec = file.exec?.value.isEmpty == false ? file.exec?.value : nil
        let addr = file.addr?.value.isEmpty == false ? file.addr?.value : nil
        return ReplicationSettings(
            configPath: file.path, databases: databases, exec: exec, addr: addr, logging: logging)
    }

    func error(_ setting: Setting<some Sendable>, _ problem: String) -> ConfigError {
        ConfigError(file: file.path, line: setting.line, key: setting.key, problem: problem)
    }

    private func validateLogging() throws(ConfigError) -> LoggingSettings {
        var settings = LoggingSettings()
        guard let section = file.logging else { return settings }
        if let level = section.level {
            // Litestream spells it `warn`.
            let text = level.value.lowercased() == "warn" ? "warning" : level.value.lowercased()
            guard let parsed = Logger.Level(rawValue: text) else {
                throw error(
                    level,
                    "'\(level.value)' is not a log level; use trace, debug, info, notice, warn, error or critical")
            }
            settings.level = parsed
        }
        if let type = section.type {
            guard let format = LoggingSettings.Format(rawValue: type.value.lowercased()) else {
                throw ConfigError(
                    file: file.path, line: type.line, key: type.key,
                    problem: "'\(type.value)' is not a log type; use text or json",
                    suggestion: KeySuggestion.nearest(to: type.value, in: ["text", "json"]))
            }
            settings.format = format
        }
        if let stderr = section.stderr { settings.toStandardError = stderr.value }
        return settings
    }

    /// `[host]:port`, as Go's listener takes it: a port is required (0 picks a free one). The
    /// parser is `--addr`'s, so the key and the flag accept the same addresses.
    static func checkAddress(_ addr: Setting<String>, file: String) throws(ConfigError) {
        guard !addr.value.isEmpty else { return }
        do throws(ListenAddress.ParseError) {
            _ = try ListenAddress(parsing: addr.value)
        } catch {
            throw ConfigError(file: file, line: addr.line, key: addr.key, problem: error.description)
        }
    }

    /// `exec:` split as `--exec` splits it, so a quote left open is named with its line here
    /// rather than found when replication is about to start.
    static func checkCommand(_ exec: Setting<String>, file: String) throws(ConfigError) {
        guard !exec.value.isEmpty else { return }
        do throws(ShellWords.ParseError) {
            _ = try ShellWords.split(exec.value)
        } catch {
            throw ConfigError(file: file, line: exec.line, key: exec.key, problem: error.description)
        }
    }
}

/// Every replica location seen so far, normalised (`ReplicaLocationKey`), to refuse a second
/// replica on a location: two replicators' histories would interleave there.
struct LocationRegistry {
    let file: String
    private var seen: [String: ReplicaSection] = [:]

    init(file: String) {
        self.file = file
    }

    mutating func register(_ url: ReplicaURL, section: ReplicaSection) throws(ConfigError) {
        let key = ReplicaLocationKey.make(url)
        if let first = seen[key] {
            throw ConfigError(
                file: file, line: section.line, key: section.key,
                problem:
                    "the same location as \(first.key) (line \(first.line)); each replica needs a location of its own")
        }
        seen[key] = section
    }
}
