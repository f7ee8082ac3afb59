import Yams

extension ConfigFile {
    /// Parses a config file's text (already expanded), checking every key and the type of every
    /// value. `path` names the file in errors.
    public static func parse(_ text: String, path: String) throws(ConfigError) -> ConfigFile {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw YAMLErrorMessage.configError(error, file: path)
        } catch {
            throw ConfigError(file: path, problem: "not valid YAML")
        }
        var file = ConfigFile(path: path)
        guard let root else { return file }
        let document = ConfigNode(node: root, file: path, key: "", line: root.mark?.line ?? 1)
        for (name, value) in try document.mapping(allowed: keys) {
            switch name {
            case "dbs":
                file.databasesLine = value.line
                file.databases = try value.sequence().map { item throws(ConfigError) in try DatabaseSection.parse(item)
                }
            case "addr": file.addr = try value.setting { node throws(ConfigError) in try node.string() }
            case "exec": file.exec = try value.setting { node throws(ConfigError) in try node.string() }
            case "access-key-id": file.accessKeyID = try value.setting { node throws(ConfigError) in try node.string() }
            case "secret-access-key":
                file.secretAccessKey = try value.setting { node throws(ConfigError) in try node.string() }
            default: file.logging = try LoggingSection.parse(value)
            }
        }
        return file
    }
}

extension LoggingSection {
    static func parse(_ node: ConfigNode) throws(ConfigError) -> LoggingSection {
        var section = LoggingSection()
        if node.isNull { return section }
        for (name, value) in try node.mapping(allowed: keys) {
            switch name {
            case "level": section.level = try value.setting { node throws(ConfigError) in try node.string() }
            case "type": section.type = try value.setting { node throws(ConfigError) in try node.string() }
            default: section.stderr = try value.setting { node throws(ConfigError) in try node.bool() }
            }
        }
        return section
    }
}

extension DatabaseSection {
    static func parse(_ node: ConfigNode) throws(ConfigError) -> DatabaseSection {
        var section = DatabaseSection(line: node.line, key: node.key)
        for (name, value) in try node.mapping(allowed: keys) {
            switch name {
            case "path": section.path = try value.setting { node throws(ConfigError) in try node.string() }
            case "meta-path": section.metaPath = try value.setting { node throws(ConfigError) in try node.string() }
            case "monitor-interval":
                section.monitorInterval = try value.setting { node throws(ConfigError) in try node.duration() }
            case "checkpoint-interval":
                section.checkpointInterval = try value.setting { node throws(ConfigError) in try node.duration() }
            case "min-checkpoint-page-count":
                section.minCheckpointPageCount = try value.setting { node throws(ConfigError) in try node.integer() }
            case "max-checkpoint-page-count":
                section.maxCheckpointPageCount = try value.setting { node throws(ConfigError) in try node.integer() }
            case "truncate-page-count":
                section.truncatePageCount = try value.setting { node throws(ConfigError) in try node.integer() }
            case "replicas":
                if section.replicasLine != nil {
                    throw value.error("give either replicas: (a list) or replica: (one), not both")
                }
                section.replicasLine = value.line
                section.replicas = try value.sequence().map { item throws(ConfigError) in try ReplicaSection.parse(item)
                }
            default: // replica: Litestream 0.5's single replica
                if section.replicasLine != nil {
                    throw value.error("give either replicas: (a list) or replica: (one), not both")
                }
                section.replicasLine = value.line
                section.replicas = [try ReplicaSection.parse(value)]
            }
        }
        return section
    }
}

extension ReplicaSection {
    static func parse(_ node: ConfigNode) throws(ConfigError) -> ReplicaSection {
        var section = ReplicaSection(line: node.line, key: node.key)
        for (name, value) in try node.mapping(allowed: keys) {
            let text = { (node: ConfigNode) throws(ConfigError) -> String? in try node.string() }
            let flag = { (node: ConfigNode) throws(ConfigError) -> Bool? in try node.bool() }
            let duration = { (node: ConfigNode) throws(ConfigError) -> Duration? in try node.duration() }
            switch name {
            case "type": section.type = try value.setting(text)
            case "name": section.name = try value.setting(text)
            case "url": section.url = try value.setting(text)
            case "path": section.path = try value.setting(text)
            case "bucket": section.bucket = try value.setting(text)
            case "region": section.region = try value.setting(text)
            case "endpoint": section.endpoint = try value.setting(text)
            case "force-path-style": section.forcePathStyle = try value.setting(flag)
            case "skip-verify": section.skipVerify = try value.setting(flag)
            case "access-key-id": section.accessKeyID = try value.setting(text)
            case "secret-access-key": section.secretAccessKey = try value.setting(text)
            case "host": section.host = try value.setting(text)
            case "user": section.user = try value.setting(text)
            case "password": section.password = try value.setting(text)
            case "key-path": section.keyPath = try value.setting(text)
            case "host-key-sha256": section.hostKeySHA256 = try value.setting(text)
            case "known-hosts": section.knownHosts = try value.setting(text)
            case "insecure-host-key": section.insecureHostKey = try value.setting(flag)
            case "retention": section.retention = try value.setting(duration)
            case "retention-check-interval": section.retentionCheckInterval = try value.setting(duration)
            case "snapshot-interval": section.snapshotInterval = try value.setting(duration)
            case "sync-interval": section.syncInterval = try value.setting(duration)
            case "validation-interval": section.validationInterval = try value.setting(duration)
            case "layout": section.layout = try value.setting(text)
            default: section.leaseDuration = try value.setting(duration)
            }
        }
        return section
    }
}

extension ConfigNode {
    /// `read(self)` with this node's line and key; nil when the value is empty.
    func setting<Value>(_ read: (ConfigNode) throws(ConfigError) -> Value?) throws(ConfigError) -> Setting<Value>? {
        guard let value = try read(self) else { return nil }
        return Setting(value: value, line: line, key: key)
    }
}

/// Yams' parse errors as one line. Only the line and libyaml's problem are kept: the snippet of
/// the offending line that Yams' own description quotes may hold an expanded secret.
enum YAMLErrorMessage {
    static func configError(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return ConfigError(file: file, line: mark.line, problem: "not valid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams marks the first occurrence; the second is the line to change.
            let first = context.mark
            let name = duplicates.first ?? "?"
            let second = repeatLine(of: name, after: first, in: context.text) ?? first.line
            return ConfigError(
                file: file, line: second, key: name,
                problem: "given twice in one mapping (first on line \(first.line)); keep one")
        case .reader(let problem, _, _, _):
            return ConfigError(file: file, problem: "not readable as YAML: \(problem)")
        default:
            return ConfigError(file: file, problem: "not valid YAML")
        }
    }

    /// The next line after `first` that starts the same key at the same column.
    static func repeatLine(of key: String, after first: Mark, in text: String) -> Int? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard first.line < lines.count else { return nil }
        for number in (first.line + 1)...lines.count {
            let line = lines[number - 1]
            let indent = line.prefix { $0 == " " || $0 == "-" }.count
            if indent == first.column - 1, line.dropFirst(indent).hasPrefix(key + ":") { return number }
        }
        return nil
    }
}
