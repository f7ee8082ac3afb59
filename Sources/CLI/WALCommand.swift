import ArgumentParser
import Core
import IO

/// `sluice wal DB_PATH|REPLICA_URL`: every WAL segment on every replica.
struct WALCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal", abstract: "List the WAL segments on each replica.")

    @Option(name: LegacyFlags.names("generation"), help: "Show only this generation.")
    var generation: String?

    @OptionGroup var replica: ReplicaArguments
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let filter = try ListingFilter(generation: generation)
        let environment = ProductionEnvironment.make(logger: try logging.makeLogger())
        let loaded = try await LoadedReplica.loadAll(try await replica.clients(environment: environment),
                                                     environment: environment)
        var table = TableFormatter(headers: ["replica", "generation", "index", "offset", "size", "created"])
        for replica in loaded {
            for listing in filter.apply(to: replica.listing) {
                for segment in listing.segments {
                    table.append([replica.client.location, "\(segment.generation)", "\(segment.index)",
                                  "\(segment.offset)", "\(segment.size)", RFC3339.format(segment.createdAt)])
                }
            }
        }
        print(table.render(), terminator: "")
    }
}
