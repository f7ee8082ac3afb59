/// `$VAR` and `${VAR}` in a config file's text, replaced by the environment's values before the
/// YAML is parsed, as Litestream does (`-no-expand-env` turns it off), so credentials can stay in
/// the environment: `secret-access-key: ${AWS_SECRET_ACCESS_KEY}`.
///
/// A variable that is not set expands to nothing, as in Litestream (and a shell). A `$` that
/// starts no name (`$5`, `$ `, a `$` at the end) is kept as written, and `$$` is one `$`.
public enum EnvironmentExpansion {
    public static func expand(_ text: String, environment: [String: String]) -> String {
        var output = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            output += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.first == "$" {
                output += "$"
                rest = after.dropFirst()
            } else if after.first == "{", let close = after.firstIndex(of: "}"),
                isName(after[after.index(after: after.startIndex)..<close])
            {
                output += environment[String(after[after.index(after: after.startIndex)..<close])] ?? ""
                rest = after[after.index(after: close)...]
            } else if let first = after.first, first == "_" || (first.isASCII && first.isLetter) {
                let name = after.prefix { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
                output += environment[String(name)] ?? ""
                rest = after.dropFirst(name.count)
            } else {
                output += "$"
                rest = after
            }
        }
        return output + rest
    }

    private static func isName(_ text: Substring) -> Bool {
        guard let first = text.first, first == "_" || (first.isASCII && first.isLetter) else { return false }
        return text.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }
}
