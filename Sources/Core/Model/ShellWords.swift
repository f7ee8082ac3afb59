/// Splits a command line into words the way a POSIX shell does for quoting, and nothing more:
/// `--exec "app --port 8080"` runs `app` with two arguments, and no shell is started.
///
/// Words are separated by unquoted blanks (space, tab, newline). Single quotes keep everything
/// up to the next single quote as it is; double quotes keep everything but `\"`, `\\`, `\$` and
/// `` \` ``, whose backslash is dropped; outside quotes a backslash keeps the next character.
/// `''` and `""` make an empty word. Variables, globs, redirections, pipes and `;` are not
/// interpreted: they are passed on as plain text (a command needing them runs `sh -c '...'`).
public enum ShellWords {
    /// Why a command line could not be split.
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case unterminatedQuote(Character)
        case trailingBackslash
        case empty

        public var description: String {
            switch self {
            case .unterminatedQuote(let quote): return "the command has an unterminated \(quote) quote"
            case .trailingBackslash: return "the command ends with a backslash"
            case .empty: return "the command is empty"
            }
        }
    }

    /// The words of `line`; throws when a quote is left open or nothing is left to run.
    public static func split(_ line: String) throws(ParseError) -> [String] {
        var words: [String] = []
        var word = ""
        var inWord = false
        var iterator = line.makeIterator()
        while let character = iterator.next() {
            switch character {
            case " ", "\t", "\n":
                if inWord { words.append(word) }
                word = ""
                inWord = false
            case "'":
                inWord = true
                while true {
                    guard let next = iterator.next() else { throw .unterminatedQuote("'") }
                    if next == "'" { break }
                    word.append(next)
                }
            case "\"":
                inWord = true
                while true {
                    guard let next = iterator.next() else { throw .unterminatedQuote("\"") }
                    if next == "\"" { break }
                    if next == "\\" {
                        guard let escaped = iterator.next() else { throw .unterminatedQuote("\"") }
                        if !["\"", "\\", "$", "`", "\n"].contains(escaped) { word.append("\\") }
                        if escaped != "\n" { word.append(escaped) }
                    } else {
                        word.append(next)
                    }
                }
            case "\\":
                guard let escaped = iterator.next() else { throw .trailingBackslash }
                // A backslash before a newline joins the lines, as in a shell.
                if escaped != "\n" {
                    inWord = true
                    word.append(escaped)
                }
            default:
                inWord = true
                word.append(character)
            }
        }
        if inWord { words.append(word) }
        guard !words.isEmpty else { throw .empty }
        return words
    }
}
