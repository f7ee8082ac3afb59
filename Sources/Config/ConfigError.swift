/// What is wrong with a config file, as one line naming the file, the line and the key:
///
///     /etc/sluice.yml:12: dbs[0].replicas[0].retension: unknown key (did you mean 'retention'?)
///
/// Messages never quote the value of a secret (`secret-access-key`, `password`): a key's value is
/// quoted only where it cannot be a credential (durations, booleans, names, paths).
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The config file as the user named it (or as discovery found it).
    public var file: String
    /// 1-based line of the key (or of the value, for a value that is wrong); nil for problems
    /// with the file as a whole.
    public var line: Int?
    /// Where the key sits, as a path: `dbs[1].replicas[0].sync-interval`; nil for the whole file.
    public var key: String?
    /// What is wrong and, where it helps, what to write instead.
    public var problem: String
    /// A valid key close to the one written.
    public var suggestion: String?

    public init(file: String, line: Int? = nil, key: String? = nil, problem: String, suggestion: String? = nil) {
        self.file = file
        self.line = line
        self.key = key
        self.problem = problem
        self.suggestion = suggestion
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        if let key { text += ": \(key)" }
        text += ": " + problem
        if let suggestion { text += " (did you mean '\(suggestion)'?)" }
        return text
    }
}
