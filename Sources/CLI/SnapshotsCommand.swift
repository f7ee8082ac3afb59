import ArgumentParser
import Core
import IO

/// `sluice snapshots DB_PATH|REPLICA_URL`: every snapshot on every replica.
struct SnapshotsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshots", abstract: "List the snapshots on each replica.",
        discussion: ListingHelp.text)

    @OptionGroup var listing: ListingArguments

    func run() async throws {
        let replicas = try await listing.load().replicas
        var table = TableFormatter(headers: ["replica", "generation", "index", "size", "created"])
        for replica in replicas {
            for listing in replica.generations {
                for snapshot in listing.snapshots {
                    table.append([replica.client.location, "\(snapshot.generation)", "\(snapshot.index)",
                                  "\(snapshot.size)", RFC3339.format(snapshot.createdAt)])
                }
            }
        }
        print(table.render(), terminator: "")
    }
}
