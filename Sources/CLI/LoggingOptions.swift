import ArgumentParser
import Foundation
import Logging

/// `--log-level`, shared by every subcommand. Logs go to standard error so that standard output
/// carries only what a command prints on purpose (tables, summaries).
struct LoggingOptions: ParsableArguments {
    @Option(name: LegacyFlags.names("log-level"),
            help: "trace, debug, info, notice, warning, error or critical (default: $SLUICE_LOG_LEVEL, else info).")
    var logLevel: String?

    /// Bootstraps swift-log once and returns the CLI's logger.
    func makeLogger(label: String = "sluice") throws -> Logger {
        let text = logLevel ?? ProcessInfo.processInfo.environment["SLUICE_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw CLIError.invalidLogLevel(text)
        }
        LoggingBootstrap.once(level: level)
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

/// `LoggingSystem.bootstrap` may run only once per process.
private enum LoggingBootstrap {
    nonisolated(unsafe) private static var done = false

    static func once(level: Logger.Level) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
