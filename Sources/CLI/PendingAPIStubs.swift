// TEMPORARY: stand-ins for APIs landing on other branches (io, restore, policies, main).
// Deleted when those branches are merged; never merged to main.
import Core
import Logging

struct ReplicationOptions: Sendable {
    var monitorInterval: Duration = .seconds(1)
    var syncInterval: Duration = .seconds(1)
    var snapshotInterval: Duration? = nil
    var retention: Duration? = .seconds(86400)
    var retentionCheckInterval: Duration = .seconds(3600)
    var checkpoint = CheckpointPolicy()
    var layout: ReplicaLayout = .grouped
    init() {}
}

final class Replicator {
    init(databasePath: String, replicas: [any ReplicaClient], options: ReplicationOptions, environment: Environment) {}
    func run() async throws {}
    static func recordedReplicas(databasePath: String, fileSystem: any FileSystem) async throws -> [String] { [] }
}

