import ArgumentParser
import Core
import IO

/// What the listing commands (generations, snapshots, wal) share: the replica argument, the
/// `--generation` filter, `--json` and logging; `load()` lists every replica once.
struct ListingArguments: ParsableArguments {
    @Option(name: LegacyFlags.names("generation"), help: "Show only this generation.")
    var generation: String?

    @Flag(name: LegacyFlags.names("json"), help: "Print one JSON document (see docs/json.md) instead of a table.")
    var json = false

    @OptionGroup var replica: ReplicaArguments
    @OptionGroup var logging: LoggingOptions

    /// Each replica's client with the generations the filter keeps, and the environment used.
    func load() async throws -> (
        replicas: [(client: any ReplicaClient, generations: [GenerationListing])], environment: Environment
    ) {
        let filter = try ListingFilter(generation: generation)
        let environment = ProductionEnvironment.make(logger: try logging.makeLogger())
        let loaded = try await LoadedReplica.loadAll(
            try await replica.clients(environment: environment),
            environment: environment)
        return (loaded.map { ($0.client, filter.apply(to: $0.listing)) }, environment)
    }

    /// Prints `rows` as a table, or with `--json` as `{"<key>": [rows]}`.
    func emit<Row: Encodable>(_ rows: [Row], key: String, headers: [String], cells: (Row) -> [String]) throws {
        try ListingOutput.emit(rows, json: json, key: key, headers: headers, cells: cells)
    }
}

/// The two shapes of a listing: a table for people, a JSON object for scripts.
enum ListingOutput {
    static func emit<Row: Encodable>(
        _ rows: [Row], json: Bool, key: String, headers: [String],
        cells: (Row) -> [String]
    ) throws {
        if json {
            try JSONOutput.print([key: rows])
            return
        }
        var table = TableFormatter(headers: headers)
        for row in rows { table.append(cells(row)) }
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

/// The help text the listing commands share.
enum ListingHelp {
    static var text: String {
        "With a DB_PATH, the database's replicas in the config file are listed (-replica NAME picks one), "
            + "else the replicas recorded by 'sluice replicate' beside it. " + ReplicaURLHelp.text
    }
}
