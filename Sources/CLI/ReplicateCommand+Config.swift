import ArgumentParser
import Config
import Core
import FoundationEssentials
import IO

extension ReplicateCommand {
    /// Every database of the config file, in one process sharing one set of threads.
    func planFromConfig() throws -> ReplicationPlan {
        if let flag = givenEngineFlag { throw CLIError.flagNeedsArguments(flag: flag) }
        let (settings, notes) = try config.require(for: "give DB_PATH REPLICA_URL")
        let exec = try Self.either(flag: "exec", exec, key: settings.exec, config: settings.configPath)
        let addr = try Self.either(flag: "addr", addr, key: settings.addr, config: settings.configPath)
        let logger = try logging.makeLogger(settings: settings.logging)
        for note in notes { logger.warning("\(note)") }
        let environment = ProductionEnvironment.make(logger: logger)
        let owner = Self.leaseOwner
        let databases = try settings.databases.map { database in
            var options = database.options
            options.leaseOwner = owner
            let clients = try database.replicas.map {
                try ConfiguredReplica.makeClient($0, fileSystem: environment.fileSystem)
            }
            for replica in database.replicas {
                logger.info(
                    "replicating",
                    metadata: [
                        "db": "\(database.path)", "replica.name": "\(replica.name)",
                        "url": "\(replica.displayURL)",
                    ])
            }
            return DatabaseReplication(
                databasePath: database.path,
                replicas: zip(clients, database.replicas).map { ($0, $1.isNamed ? $1.name : $0.location) },
                options: options,
                replicaOptions: database.replicas.map { replica in
                    var options = replica.options
                    options.leaseOwner = owner
                    return options
                })
        }
        return ReplicationPlan(databases: databases, exec: exec, addr: addr, logger: logger, environment: environment)
    }

    /// A process-wide setting (`exec`, `addr`) from its flag or from the config's key. Unlike the
    /// engine flags, these two are accepted with a config file (Litestream's container recipe is
    /// `replicate -exec "app"` beside a config file), but not both at once: which one wins would
    /// be a guess, and a setting silently not applied misleads as much as a flag that does nothing.
    static func either(flag name: String, _ flag: String?, key: String?, config: String) throws -> String? {
        if flag != nil, key != nil { throw CLIError.flagAndConfigKey(flag: name, config: config) }
        return flag ?? key
    }

    /// `host:pid`, naming this replicator in the leases it takes.
    static var leaseOwner: String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// The first engine flag given, if any: with a config file they are keys of the file, and a
    /// flag that silently did nothing would mislead.
    var givenEngineFlag: String? {
        let flags: [(String, Bool)] = [
            ("sync-interval", syncInterval != nil), ("monitor-interval", monitorInterval != nil),
            ("snapshot-interval", snapshotInterval != nil), ("retention", retention != nil),
            ("retention-check-interval", retentionCheckInterval != nil), ("layout", layout != nil),
            ("min-checkpoint-page-count", minCheckpointPageCount != nil),
            ("checkpoint-interval", checkpointInterval != nil),
            ("truncate-page-count", truncatePageCount != nil), ("lease-duration", leaseDuration != nil),
        ]
        return flags.first { $0.1 }?.0
    }
}

/// The replica URL schemes, for help texts, from the list the client factory serves.
enum ReplicaURLHelp {
    static let examples = [
        "file": "file:///absolute/path", "s3": "s3://bucket/prefix", "sftp": "sftp://user@host/path",
    ]

    static var text: String {
        let urls = ReplicaClientFactory.supportedSchemes.map { examples[$0] ?? "\($0)://..." }
        return "Replicas are URLs: \(urls.joined(separator: ", ")) (see the README for their options and credentials)."
    }
}
