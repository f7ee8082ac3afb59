import ArgumentParser
import Core
import IO

/// `sluice generations DB_PATH|REPLICA_URL`: one row per generation per replica, with how far the
/// replica's newest upload lags behind now.
struct GenerationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generations", abstract: "List the generations on each replica.",
        discussion: ListingHelp.text)

    @OptionGroup var listing: ListingArguments

    func run() async throws {
        let (replicas, environment) = try await listing.load()
        let now = environment.wallClock.now()
        let rows = replicas.flatMap { replica in
            replica.generations.map { GenerationRow(replica: replica.client.location, listing: $0, now: now) }
        }
        try listing.emit(rows, key: "generations", headers: GenerationRow.headers, cells: \.cells)
    }
}

/// Lag as Litestream prints it: whole units, largest first (`1h2m3s`, `450ms`).
enum LagFormat {
    static func text(_ duration: Duration) -> String {
        var ms = max(0, duration.milliseconds)
        if ms < 1000 { return "\(ms)ms" }
        var text = ""
        let hours = ms / 3_600_000
        if hours > 0 {
            text += "\(hours)h"
            ms -= hours * 3_600_000
        }
        let minutes = ms / 60_000
        if minutes > 0 {
            text += "\(minutes)m"
            ms -= minutes * 60_000
        }
        let seconds = ms / 1000
        if seconds > 0 || text.isEmpty { text += "\(seconds)s" }
        return text
    }
}
