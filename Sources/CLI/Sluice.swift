import ArgumentParser
import FoundationEssentials
import Glibc

/// The `sluice` executable: continuous replication of a SQLite database and point-in-time restore.
///
/// Every failure ends in one line, `error: <message>`, on standard error and exit status 1, so a
/// script can report it as it is. Help and `--version` print as argument-parser prints them.
@main
struct Sluice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Replicate a live SQLite database to replicas and restore it to any point in time.",
        version: sluiceVersion,
        subcommands: [
            ReplicateCommand.self,
            RestoreCommand.self,
            GenerationsCommand.self,
            SnapshotsCommand.self,
            WALCommand.self,
            DatabasesCommand.self,
            VerifyCommand.self,
            VersionCommand.self,
            SimCommand.self,
        ])

    /// Parses, runs the subcommand, and turns any error into the one-line form.
    static func main() async {
        do {
            var command = try parseAsRoot()
            // A simulator thread allocates and frees large buffers millions of times: a 64 KiB
            // mmap threshold would turn each into an mmap, page faults and munmap.
            if command is SimCommand { MemoryTuning.applyForSimulator() } else { MemoryTuning.apply() }
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(reporting: error)
        }
        terminate(0)
    }

    /// Ends the process without running the C libraries' exit handlers. OpenSSL (under libcurl
    /// and libssh2) frees its locks in an atexit handler, while a pool thread may still be
    /// closing an S3 or SFTP connection through it: a plain exit crashed `sluice generations
    /// sftp://...` in about one run in four (SIGSEGV in pthread_rwlock_rdlock). Every file the
    /// command wrote is already closed and synced; only stdio needs flushing.
    static func terminate(_ status: Int32) -> Never {
        fflush(nil)
        _exit(status)
    }

    /// Prints `error` in one line (or help, for help requests) and exits with its code.
    static func exit(reporting error: Error) -> Never {
        let code = exitCode(for: error)
        // Help, `--version` and clean exits keep argument-parser's own output.
        if code == .success || error is CleanExit {
            Self.exit(withError: error)
        }
        let message: String
        if let cliError = error as? CLIError {
            message = cliError.description
        } else if error is ExitCode {
            message = "" // The command printed its own message already.
        } else if isParserError(error) {
            message = Self.message(for: error) + " (see 'sluice help')"
        } else {
            message = CLIError.describe(error)
        }
        if !message.isEmpty {
            StandardError.write("error: " + message.oneLine + "\n")
        }
        terminate(code == .success ? 1 : code.rawValue)
    }

    /// Errors raised while parsing arguments (as opposed to those thrown by a command's `run`).
    private static func isParserError(_ error: Error) -> Bool {
        String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
    }
}

extension String {
    /// The text on one line: newlines become "; " so a message never spans lines.
    var oneLine: String {
        split(whereSeparator: \.isNewline).map { String($0).trimmingWhitespace() }
            .filter { !$0.isEmpty }.joined(separator: "; ")
    }
}
