import ArgumentParser
import Core
import IO

/// `sluice wal DB_PATH|REPLICA_URL`: every WAL segment on every replica.
struct WALCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal", abstract: "List the WAL segments on each replica.",
        discussion: ListingHelp.text)

    @OptionGroup var listing: ListingArguments

    func run() async throws {
        let replicas = try await listing.load().replicas
        var table = TableFormatter(headers: ["replica", "generation", "index", "offset", "size", "created"])
        for replica in replicas {
            for listing in replica.generations {
                for segment in listing.segments {
                    table.append([replica.client.location, "\(segment.generation)", "\(segment.index)",
                                  "\(segment.offset)", "\(segment.size)", RFC3339.format(segment.createdAt)])
                }
            }
        }
        print(table.render(), terminator: "")
    }
}
