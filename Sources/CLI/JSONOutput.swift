import FoundationEssentials

/// How the listing commands print `--json` (docs/json.md): one JSON document on standard
/// output, keys sorted so the text is stable from run to run, slashes left unescaped so URLs and
/// paths read as they are, and a final newline. Errors never reach standard output: a command
/// prints only once everything it lists has been read.
enum JSONOutput {
    static func print<Value: Encodable>(_ value: Value) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        Swift.print(String(decoding: data, as: UTF8.self))
    }
}
