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
        let rows = try await listing.load().replicas.flatMap { replica in
            replica.generations.flatMap(\.segments).map { ObjectRow(replica: replica.client.location, segment: $0) }
        }
        try listing.emit(rows, key: "wal_segments", headers: ObjectRow.segmentHeaders, cells: \.cells)
    }
}
