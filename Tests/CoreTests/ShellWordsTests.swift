import Core
import Testing

@Suite("ShellWords")
struct ShellWordsTests {
    @Test(
        "ShellWords: splits on blanks and keeps quoted text as one word",
        arguments: [
            ("app", ["app"]),
            ("  app   --port 8080 ", ["app", "--port", "8080"]),
            ("sh -c 'echo $HOME; exit 3'", ["sh", "-c", "echo $HOME; exit 3"]),
            (#"app "a b" c\ d"#, ["app", "a b", "c d"]),
            (#"app "say \"hi\" \n""#, ["app", #"say "hi" \n"#]),
            ("app '' \"\"", ["app", "", ""]),
            ("a'b'\"c\"d", ["abcd"]),
            ("app\targ\nnext", ["app", "arg", "next"]),
        ])
    func splits(line: String, words: [String]) throws {
        #expect(try ShellWords.split(line) == words)
    }

    @Test("ShellWords: an open quote, a trailing backslash or nothing at all is refused")
    func refuses() {
        #expect(throws: ShellWords.ParseError.unterminatedQuote("'")) { try ShellWords.split("app 'x") }
        #expect(throws: ShellWords.ParseError.unterminatedQuote("\"")) { try ShellWords.split("app \"x") }
        #expect(throws: ShellWords.ParseError.trailingBackslash) { try ShellWords.split("app \\") }
        #expect(throws: ShellWords.ParseError.empty) { try ShellWords.split("   ") }
    }
}
