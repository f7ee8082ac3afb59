import FoundationEssentials

/// Finds, reads, expands and checks the config file.
///
/// Discovery: the `-config PATH` flag, else `$SLUICE_CONFIG`, else `./sluice.yml`, else
/// `/etc/sluice.yml`. A path the user named (flag or variable) that does not exist is an error;
/// the two fallbacks are simply skipped when missing.
public struct ConfigLoader {
    /// How the file was found; decides whether its absence is an error.
    public enum Source: Equatable, Sendable {
        case flag(String)
        case environmentVariable(String)
        case fallback(String)

        public var path: String {
            switch self {
            case .flag(let path), .environmentVariable(let path), .fallback(let path): return path
            }
        }

        /// Whether the user named this file (as opposed to a default location).
        public var isExplicit: Bool {
            if case .fallback = self { return false }
            return true
        }
    }

    /// The places looked at when neither the flag nor the variable names a file, in order.
    public static let fallbackPaths = ["sluice.yml", "/etc/sluice.yml"]

    public var environment: [String: String]
    /// Turns `$VAR` expansion off (`-no-expand-env`).
    public var expandsEnvironment: Bool
    /// Reads a whole file; nil when it does not exist. Injected for tests.
    var readFile: (String) throws -> String?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, expandsEnvironment: Bool = true) {
        self.environment = environment
        self.expandsEnvironment = expandsEnvironment
        self.readFile = { path in
            guard FileManager.default.fileExists(atPath: path) else { return nil }
            return try String(contentsOfFile: path, encoding: .utf8)
        }
    }

    /// Where to look, in order of precedence: one explicit source, or the fallbacks.
    public func candidates(flag: String?) -> [Source] {
        if let flag { return [.flag(flag)] }
        if let variable = environment["SLUICE_CONFIG"], !variable.isEmpty { return [.environmentVariable(variable)] }
        return Self.fallbackPaths.map { .fallback($0) }
    }

    /// The first config file that exists, parsed and checked; nil when no file was named and
    /// neither fallback exists.
    public func load(flag: String?) throws(ConfigError) -> (settings: ReplicationSettings, notes: [String])? {
        for source in candidates(flag: flag) {
            let text: String?
            do {
                text = try readFile(source.path)
            } catch {
                throw ConfigError(file: source.path, problem: "cannot be read (\(error)); check its permissions")
            }
            guard let text else {
                guard !source.isExplicit else { throw Self.missing(source) }
                continue
            }
            return try parse(text, path: source.path)
        }
        return nil
    }

    /// Expands and checks `text`, the contents of the config file at `path`.
    public func parse(_ text: String, path: String) throws(ConfigError) -> (
        settings: ReplicationSettings, notes: [String]
    ) {
        let expanded = expandsEnvironment ? EnvironmentExpansion.expand(text, environment: environment) : text
        let file = try ConfigFile.parse(expanded, path: path)
        var validator = ConfigValidator(file: file, environment: environment)
        let settings = try validator.validate()
        return (settings, validator.notes)
    }

    private static func missing(_ source: Source) -> ConfigError {
        switch source {
        case .environmentVariable:
            return ConfigError(file: source.path, problem: "no such config file (named by $SLUICE_CONFIG)")
        default:
            return ConfigError(file: source.path, problem: "no such config file")
        }
    }
}
