import ArgumentParser
import Config

/// `sluice databases`: every database of the config file with its replicas, one row per
/// replica. URLs are printed without passwords; credentials given in the file are shown only
/// as "config", never their values.
struct DatabasesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "databases", abstract: "List the databases of the config file and their replicas.")

    @OptionGroup var config: ConfigOptions

    @Flag(name: LegacyFlags.names("json"), help: "Print one JSON document (see docs/json.md) instead of a table.")
    var json = false

    func run() throws {
        let (settings, _) = try config.require(for: "write one (see docs/configuration.md)")
        if json {
            try JSONOutput.print(["databases": settings.databases.map(DatabaseEntry.init)])
            return
        }
        var table = TableFormatter(headers: ["path", "replica", "type", "url", "credentials"])
        for database in settings.databases {
            for replica in database.replicas {
                table.append([
                    database.path, replica.name, replica.type, replica.displayURL,
                    ReplicaEntry.credentials(replica) ?? "-",
                ])
            }
        }
        print(table.render(), terminator: "")
    }
}

/// A database of the config file in `databases --json`.
struct DatabaseEntry: Encodable {
    var path: String
    var replicas: [ReplicaEntry]

    init(_ database: DatabaseSettings) {
        path = database.path
        replicas = database.replicas.map(ReplicaEntry.init)
    }
}

/// A replica in `databases --json`: where it is and where its credentials come from, never what
/// they are.
struct ReplicaEntry: Encodable {
    var name: String
    var type: String
    var url: String
    var credentials: String

    init(_ replica: ReplicaSettings) {
        name = replica.name
        type = replica.type
        url = replica.displayURL
        credentials = Self.credentials(replica) ?? "none"
    }

    /// Where the replica's credentials come from: "environment" or "config" (S3), "key" or
    /// "password" (SFTP); nil when it needs none or names none.
    static func credentials(_ replica: ReplicaSettings) -> String? {
        switch replica.url {
        case .s3: return replica.credentialEnvironment.isEmpty ? "environment" : "config"
        case .sftp(let location):
            if location.privateKeyPath != nil { return "key" }
            return location.password == nil ? nil : "password"
        case .file: return nil
        }
    }
}
