import ArgumentParser
import Core
import IO

/// `sluice snapshots DB_PATH|REPLICA_URL`: every snapshot on every replica.
struct SnapshotsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshots", abstract: "List the snapshots on each replica.")

    @Option(name: LegacyFlags.names("generation"), help: "Show only this generation.")
    var generation: String?

    @OptionGroup var replica: ReplicaArguments
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let filter = try ListingFilter(generation: generation)
        let environment = ProductionEnvironment.make(logger: try logging.makeLogger())
        let loaded = try await LoadedReplica.loadAll(try await replica.clients(environment: environment),
                                                     environment: environment)
        var table = TableFormatter(headers: ["replica", "generation", "index", "size", "created"])
        for replica in loaded {
            for listing in filter.apply(to: replica.listing) {
                for snapshot in listing.snapshots {
                    table.append([replica.client.location, "\(snapshot.generation)", "\(snapshot.index)",
                                  "\(snapshot.size)", RFC3339.format(snapshot.createdAt)])
                }
            }
        }
        print(table.render(), terminator: "")
    }
}
