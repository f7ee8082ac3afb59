import ArgumentParser
import Config

/// `-config PATH` and `-no-expand-env`, for every command that reads the config file.
struct ConfigOptions: ParsableArguments {
    @Option(
        name: LegacyFlags.names("config"),
        help: "The config file (default: $SLUICE_CONFIG, else ./sluice.yml, else /etc/sluice.yml).")
    var configPath: String?

    @Flag(name: LegacyFlags.names("no-expand-env"), help: "Do not replace $VAR and ${VAR} in the config file.")
    var noExpandEnvironment = false

    /// The config file's settings; nil when no file was named and none exists at the default
    /// places. Notes about ignored keys are logged by the caller.
    func load() throws -> (settings: ReplicationSettings, notes: [String])? {
        try ConfigLoader(expandsEnvironment: !noExpandEnvironment).load(flag: configPath)
    }

    /// Like `load`, but a missing file is an error saying how to name one.
    func require(for command: String) throws -> (settings: ReplicationSettings, notes: [String]) {
        guard let loaded = try load() else { throw CLIError.noConfig(command: command) }
        return loaded
    }
}
