import Core
import IO

extension ConfigValidator {
    /// Keys that only some replica types take.
    static let typeKeys: [String: [String]] = [
        "s3": [
            "bucket", "region", "endpoint", "force-path-style", "skip-verify", "access-key-id", "secret-access-key",
        ],
        "sftp": ["host", "user", "password", "key-path", "host-key-sha256", "known-hosts", "insecure-host-key"],
    ]

    /// One replica: its URL (from `url:` or from `path`/`bucket`/`host`...), name, credentials and
    /// options on top of the database's.
    mutating func validate(_ section: ReplicaSection, database: ReplicationOptions) throws(ConfigError)
        -> ReplicaSettings
    {
        let type = try replicaType(section)
        try checkKeysApply(section, type: type)
        let url: ReplicaURL
        switch type {
        case "s3": url = try s3URL(section)
        case "sftp": url = try sftpURL(section)
        default: url = try fileURL(section)
        }
        var options = database
        try applySchedules(section, to: &options)
        let given = section.name.map(\.value).flatMap { $0.isEmpty ? nil : $0 }
        return ReplicaSettings(
            name: given ?? type, isNamed: given != nil, url: url, options: options,
            credentialEnvironment: type == "s3" ? try s3Credentials(section) : [:])
    }

    /// `type:`, else the URL's scheme, else what the keys imply (`bucket`: s3, `host`: sftp),
    /// else file, as in Litestream.
    private func replicaType(_ section: ReplicaSection) throws(ConfigError) -> String {
        let schemes = ReplicaClientFactory.supportedSchemes
        var fromURL: String?
        if let url = section.url, let colon = url.value.firstIndex(of: ":"), ReplicaURL.looksLikeURL(url.value) {
            fromURL = url.value[..<colon].lowercased()
        }
        if let type = section.type {
            let value = type.value.lowercased()
            guard schemes.contains(value) else {
                throw ConfigError(
                    file: file.path, line: type.line, key: type.key,
                    problem: "replica type '\(type.value)' is not supported; use \(schemes.joined(separator: ", "))",
                    suggestion: KeySuggestion.nearest(to: value, in: schemes))
            }
            if let fromURL, fromURL != value {
                throw error(type, "is \(value) but the url is \(fromURL)://; remove one")
            }
            return value
        }
        if let fromURL { return fromURL }
        if section.bucket != nil { return "s3" }
        if section.host != nil { return "sftp" }
        return "file"
    }

    /// A key of another type's (a bucket on a file replica) is a mistake, not something to ignore.
    private func checkKeysApply(_ section: ReplicaSection, type: String) throws(ConfigError) {
        let given: [(String, Setting<String>?)] = [
            ("bucket", section.bucket), ("region", section.region), ("endpoint", section.endpoint),
            ("access-key-id", section.accessKeyID), ("secret-access-key", section.secretAccessKey),
            ("host", section.host), ("user", section.user), ("password", section.password),
            ("key-path", section.keyPath),
            ("host-key-sha256", section.hostKeySHA256), ("known-hosts", section.knownHosts),
        ]
        var lines = given.compactMap { name, setting in setting.map { (name, $0.line, $0.key) } }
        for (name, setting) in [
            ("force-path-style", section.forcePathStyle), ("skip-verify", section.skipVerify),
            ("insecure-host-key", section.insecureHostKey),
        ] {
            if let setting { lines.append((name, setting.line, setting.key)) }
        }
        for (name, line, key) in lines {
            let owner = Self.typeKeys.first { $0.value.contains(name) }!.key
            if owner != type {
                throw ConfigError(
                    file: file.path, line: line, key: key,
                    problem: "applies to \(owner) replicas only, and this replica is a \(type) replica")
            }
        }
    }

    /// The URL's problem as a config error at the line of `setting`; secrets are redacted by
    /// `ReplicaURLError` itself.
    func urlError(_ failure: ReplicaURLError, at line: Int, key: String) -> ConfigError {
        ConfigError(file: file.path, line: line, key: key, problem: failure.description)
    }

    private func fileURL(_ section: ReplicaSection) throws(ConfigError) -> ReplicaURL {
        if let url = section.url {
            if let path = section.path { throw error(path, "give url or path, not both") }
            do { return try ReplicaURL(parsing: url.value) } catch { throw urlError(error, at: url.line, key: url.key) }
        }
        guard let path = section.path, !path.value.isEmpty else {
            throw ConfigError(
                file: file.path, line: section.line, key: section.key,
                problem: "a file replica needs a path (path: /backups/app) or a url")
        }
        if ReplicaURL.looksLikeURL(path.value) {
            throw error(path, "is a URL; write it as url: \(ReplicaURLRedaction.redact(path.value))")
        }
        return .file(path: ReplicaClientFactory.absolutePath(path.value))
    }

    /// Retention, snapshots, sync interval, layout and lease of one replica.
    private mutating func applySchedules(_ section: ReplicaSection, to options: inout ReplicationOptions)
        throws(ConfigError)
    {
        if let setting = section.retention { options.retention = setting.value == .zero ? nil : setting.value }
        if let setting = section.retentionCheckInterval {
            guard setting.value > .zero else { throw error(setting, "must be longer than zero") }
            options.retentionCheckInterval = setting.value
        }
        if let setting = section.snapshotInterval {
            options.snapshotInterval = setting.value == .zero ? nil : setting.value
        }
        if let setting = section.syncInterval {
            guard setting.value > .zero else { throw error(setting, "must be longer than zero") }
            options.syncInterval = setting.value
        }
        if let setting = section.leaseDuration {
            guard setting.value > .zero else { throw error(setting, "must be longer than zero") }
            options.leaseDuration = setting.value
        }
        if let setting = section.layout {
            guard let layout = ReplicaLayout(rawValue: setting.value) else {
                throw ConfigError(
                    file: file.path, line: setting.line, key: setting.key,
                    problem: "'\(setting.value)' is not a layout; use grouped or legacy",
                    suggestion: KeySuggestion.nearest(to: setting.value, in: ["grouped", "legacy"]))
            }
            options.layout = layout
        }
        if let setting = section.validationInterval, setting.value > .zero {
            notes.append(
                "\(file.path):\(setting.line): \(setting.key) is ignored: sluice checks every object's checksums when it restores, instead of restoring on a schedule"
            )
        }
    }
}
