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
        let logger = try logging.makeLogger(settings: settings.logging)
        for note in notes { logger.warning("\(note)") }
        let environment = ProductionEnvironment.make(logger: logger)
        let owner = Self.leaseOwner
        let replicators = try settings.databases.map { database in
            var options = database.options
            options.leaseOwner = owner
            let clients = try database.replicas.map { try ConfiguredReplica.makeClient($0, fileSystem: environment.fileSystem) }
            for replica in database.replicas {
                logger.info("replicating", metadata: ["db": "\(database.path)", "replica.name": "\(replica.name)",
                                                      "url": "\(replica.displayURL)"])
            }
            return Replicator(databasePath: database.path, replicas: clients, options: options,
                              replicaOptions: database.replicas.map { replica in
                                  var options = replica.options
                                  options.leaseOwner = owner
                                  return options
                              },
                              environment: environment)
        }
        return ReplicationPlan(replicators: replicators, exec: settings.exec, addr: settings.addr,
                               logger: logger, environment: environment)
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
            ("min-checkpoint-page-count", minCheckpointPageCount != nil), ("checkpoint-interval", checkpointInterval != nil),
            ("truncate-page-count", truncatePageCount != nil), ("lease-duration", leaseDuration != nil),
        ]
        return flags.first { $0.1 }?.0
    }
}

/// The replica URL schemes, for help texts, from the list the client factory serves.
enum ReplicaURLHelp {
    static let examples = ["file": "file:///absolute/path", "s3": "s3://bucket/prefix", "sftp": "sftp://user@host/path"]

    static var text: String {
        let urls = ReplicaClientFactory.supportedSchemes.map { examples[$0] ?? "\($0)://..." }
        return "Replicas are URLs: \(urls.joined(separator: ", ")) (see the README for their options and credentials)."
    }
}
