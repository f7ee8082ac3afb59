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
        let rows = try await listing.load().replicas.flatMap { replica in
            replica.generations.flatMap(\.snapshots).map { ObjectRow(replica: replica.client.location, snapshot: $0) }
        }
        try listing.emit(rows, key: "snapshots", headers: ObjectRow.snapshotHeaders, cells: \.cells)
    }
}
