import Core
import IO

extension ConfigValidator {
    /// One database: its path, its options, and each replica on top of them.
    mutating func validate(_ section: DatabaseSection) throws(ConfigError) -> DatabaseSettings {
        guard let path = section.path, !path.value.isEmpty else {
            throw ConfigError(
                file: file.path, line: section.line, key: section.key,
                problem: "a database needs a path (path: /data/app.db)")
        }
        if ReplicaURL.looksLikeURL(path.value) {
            throw error(path, "a database path is a local file, not a URL; replicas go under replicas:")
        }
        var options = try databaseOptions(section)
        guard !section.replicas.isEmpty else {
            throw ConfigError(
                file: file.path, line: section.replicasLine ?? section.line, key: section.key + ".replicas",
                problem: "the database has no replicas; add replicas: with at least one url or path")
        }
        var replicas: [ReplicaSettings] = []
        var names: [String: ReplicaSection] = [:]
        for replicaSection in section.replicas {
            let replica = try validate(replicaSection, database: options)
            if let first = names[replica.name] {
                let line = replicaSection.name?.line ?? replicaSection.line
                let key = replicaSection.name?.key ?? replicaSection.key
                throw ConfigError(
                    file: file.path, line: line, key: key,
                    problem:
                        "replica name '\(replica.name)' is already used by \(first.key) (line \(first.line)); give each replica of a database its own name"
                )
            }
            names[replica.name] = replicaSection
            replicas.append(replica)
        }
        // The monitor wakes the replicas at most once per sync interval: the shortest of theirs.
        options.syncInterval = replicas.map(\.options.syncInterval).min() ?? options.syncInterval
        return DatabaseSettings(
            path: ReplicaClientFactory.absolutePath(path.value), options: options, replicas: replicas)
    }

    /// The database-wide options: monitor interval, checkpoints, local state directory.
    private func databaseOptions(_ section: DatabaseSection) throws(ConfigError) -> ReplicationOptions {
        var options = ReplicationOptions()
        if let setting = section.monitorInterval {
            guard setting.value > .zero else { throw error(setting, "must be longer than zero") }
            options.monitorInterval = setting.value
        }
        if let setting = section.checkpointInterval {
            options.checkpoint.idleInterval = setting.value == .zero ? nil : setting.value
        }
        if let setting = section.minCheckpointPageCount {
            guard setting.value >= 1 else { throw error(setting, "must be at least 1") }
            options.checkpoint.minimumPages = setting.value
        }
        if let max = section.maxCheckpointPageCount, let truncate = section.truncatePageCount {
            throw error(truncate, "is another name for max-checkpoint-page-count (line \(max.line)); give one of them")
        }
        // Litestream's max-checkpoint-page-count forced a RESTART checkpoint; Sluice never
        // restarts under traffic, and its emergency brake for a runaway WAL is TRUNCATE.
        if let setting = section.maxCheckpointPageCount ?? section.truncatePageCount {
            options.checkpoint.truncatePages = setting.value == 0 ? nil : setting.value
            do {
                options.checkpoint = try options.checkpoint.validated()
            } catch {
                throw self.error(
                    setting,
                    "must be greater than min-checkpoint-page-count (\(options.checkpoint.minimumPages)), or 0 to disable"
                )
            }
        }
        if let metaPath = section.metaPath, !metaPath.value.isEmpty {
            if ReplicaURL.looksLikeURL(metaPath.value) { throw error(metaPath, "is a local folder, not a URL") }
            options.stateDirectory = ReplicaClientFactory.absolutePath(metaPath.value)
        }
        return options
    }
}
