import ArgumentParser
import Config

/// `sluice databases`: every database of the config file with its replicas, one row per
/// replica. URLs are printed without passwords; credentials given in the file are shown only
/// as "config", never their values.
struct DatabasesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "databases", abstract: "List the databases of the config file and their replicas.")

    @OptionGroup var config: ConfigOptions

    func run() throws {
        let (settings, _) = try config.require(for: "write one (see docs/configuration.md)")
        var table = TableFormatter(headers: ["path", "replica", "type", "url", "credentials"])
        for database in settings.databases {
            for replica in database.replicas {
                table.append([database.path, replica.name, replica.type, replica.displayURL, Self.credentials(replica)])
            }
        }
        print(table.render(), terminator: "")
    }

    /// Where the replica's credentials come from, never what they are.
    static func credentials(_ replica: ReplicaSettings) -> String {
        switch replica.url {
        case .s3: return replica.credentialEnvironment.isEmpty ? "environment" : "config"
        case .sftp(let location):
            if location.privateKeyPath != nil { return "key" }
            return location.password == nil ? "-" : "password"
        case .file: return "-"
        }
    }
}
