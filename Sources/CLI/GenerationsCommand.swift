import ArgumentParser
import Core
import IO

/// `sluice generations DB_PATH|REPLICA_URL`: one row per generation per replica, with how far the
/// replica's newest upload lags behind now.
struct GenerationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generations", abstract: "List the generations on each replica.")

    @Option(name: LegacyFlags.names("generation"), help: "Show only this generation.")
    var generation: String?

    @OptionGroup var replica: ReplicaArguments
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let filter = try ListingFilter(generation: generation)
        let environment = ProductionEnvironment.make(logger: try logging.makeLogger())
        let loaded = try await LoadedReplica.loadAll(try await replica.clients(environment: environment),
                                                     environment: environment)
        let now = environment.wallClock.now()
        var table = TableFormatter(headers: ["name", "generation", "lag", "start", "end"])
        for replica in loaded {
            for listing in filter.apply(to: replica.listing) {
                guard let bounds = listing.timeBounds else {
                    table.append([replica.client.location, "\(listing.generation)", "-", "-", "-"])
                    continue
                }
                table.append([replica.client.location, "\(listing.generation)",
                              LagFormat.text(now - bounds.end),
                              RFC3339.format(bounds.start), RFC3339.format(bounds.end)])
            }
        }
        print(table.render(), terminator: "")
    }
}

/// `--generation` of the listing commands.
struct ListingFilter {
    var generation: Generation?

    init(generation text: String?) throws {
        if let text {
            guard let value = Generation(text) else { throw CLIError.invalidGeneration(text) }
            generation = value
        }
    }

    func apply(to listing: ReplicaListing) -> [GenerationListing] {
        guard let generation else { return listing.generations }
        return listing.generations.filter { $0.generation == generation }
    }
}

/// Lag as Litestream prints it: whole units, largest first (`1h2m3s`, `450ms`).
enum LagFormat {
    static func text(_ duration: Duration) -> String {
        var ms = max(0, duration.milliseconds)
        if ms < 1000 { return "\(ms)ms" }
        var text = ""
        let hours = ms / 3_600_000
        if hours > 0 { text += "\(hours)h"; ms -= hours * 3_600_000 }
        let minutes = ms / 60_000
        if minutes > 0 { text += "\(minutes)m"; ms -= minutes * 60_000 }
        let seconds = ms / 1000
        if seconds > 0 || text.isEmpty { text += "\(seconds)s" }
        return text
    }
}
