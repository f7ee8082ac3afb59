import Core
import Yams

/// A YAML value of a config file with where it came from (file, line, key path), so every
/// reading of it can fail with a `ConfigError` that names all three.
///
/// The file is walked as Yams' node tree rather than decoded with `Decodable`, because only the
/// nodes keep their marks: the line of every key and value.
struct ConfigNode {
    let node: Node
    let file: String
    /// `dbs[0].replicas[1].retention`; empty for the document itself.
    let key: String
    /// The line of the key that holds this value (of the value itself for list items).
    let line: Int

    func error(_ problem: String, suggestion: String? = nil) -> ConfigError {
        ConfigError(file: file, line: line, key: key.isEmpty ? nil : key, problem: problem, suggestion: suggestion)
    }

    /// What the value is, for "expected ..., found ..." messages. Never the value itself, which
    /// may be a secret.
    var kindName: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            if scalar.tag.description == Tag.Name.null.rawValue || isNull { return "nothing" }
            return "a single value"
        }
    }

    /// `key:` with no value, `~` or `null` (written plainly, not quoted).
    var isNull: Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// The entries of a mapping, each checked against `allowed`: an unknown key fails naming the
    /// nearest allowed one when it is close. Keys keep the file's order.
    func mapping(allowed: [String]) throws(ConfigError) -> [(name: String, value: ConfigNode)] {
        guard case .mapping(let mapping) = node else {
            throw error("expected a mapping of keys to values, found \(kindName)")
        }
        var entries: [(name: String, value: ConfigNode)] = []
        for (keyNode, valueNode) in mapping {
            let keyLine = keyNode.mark?.line ?? line
            let childKey = key.isEmpty ? keyNode.string ?? "?" : key + "." + (keyNode.string ?? "?")
            guard case .scalar(let scalar) = keyNode else {
                throw ConfigError(
                    file: file, line: keyLine, key: key.isEmpty ? nil : key, problem: "keys must be plain names")
            }
            let name = scalar.string
            guard allowed.contains(name) else {
                throw ConfigError(
                    file: file, line: keyLine, key: childKey, problem: "unknown key",
                    suggestion: KeySuggestion.nearest(to: name, in: allowed))
            }
            entries.append((name, ConfigNode(node: valueNode, file: file, key: childKey, line: keyLine)))
        }
        return entries
    }

    /// The items of a list, each keyed `key[i]` at its own line.
    func sequence() throws(ConfigError) -> [ConfigNode] {
        guard case .sequence(let sequence) = node else {
            throw error("expected a list, found \(kindName)")
        }
        return sequence.enumerated().map { index, item in
            ConfigNode(node: item, file: file, key: "\(key)[\(index)]", line: item.mark?.line ?? line)
        }
    }

    /// A single value as text (numbers and booleans as written); nil for an empty value.
    func string() throws(ConfigError) -> String? {
        if isNull { return nil }
        guard case .scalar(let scalar) = node else {
            throw error("expected a single value, found \(kindName)")
        }
        return scalar.string
    }

    /// `true`/`false` (YAML's spellings: yes/no, on/off too).
    func bool() throws(ConfigError) -> Bool? {
        guard let text = try string() else { return nil }
        guard let value = Bool.construct(from: Node.Scalar(text)) else {
            throw error("'\(text)' is not true or false")
        }
        return value
    }

    /// A whole number, at least `minimum`.
    func integer(minimum: Int = 0) throws(ConfigError) -> Int? {
        guard let text = try string() else { return nil }
        guard let value = Int(text), value >= minimum else {
            throw error("'\(text)' is not a whole number of at least \(minimum)")
        }
        return value
    }

    /// A duration in Litestream's spelling (`1s`, `500ms`, `1h30m`, `7d`; a bare number is
    /// seconds), never negative.
    func duration() throws(ConfigError) -> Duration? {
        guard let text = try string() else { return nil }
        guard let value = DurationParser.parse(text) else {
            throw error("'\(text)' is not a duration; use a number with a unit, like 500ms, 10s, 5m, 24h or 7d")
        }
        return value
    }
}
