import ArgumentParser
import Config
import FoundationEssentials
import Logging
import Synchronization

/// `--log-level`, shared by every subcommand. Logs go to standard error so that standard output
/// carries only what a command prints on purpose (tables, summaries); a config file's `logging:`
/// may ask for JSON lines or standard output instead.
struct LoggingOptions: ParsableArguments {
    @Option(
        name: LegacyFlags.names("log-level"),
        help:
            "trace, debug, info, notice, warning, error or critical (default: $SLUICE_LOG_LEVEL, else the config file's logging.level, else info)."
    )
    var logLevel: String?

    /// Bootstraps swift-log once and returns the CLI's logger. The level is the flag's, else
    /// `$SLUICE_LOG_LEVEL`, else the config's, else info.
    func makeLogger(label: String = "sluice", settings: LoggingSettings = LoggingSettings()) throws -> Logger {
        let level: Logger.Level
        if let text = logLevel ?? ProcessInfo.processInfo.environment["SLUICE_LOG_LEVEL"] {
            let name = text.lowercased() == "warn" ? "warning" : text.lowercased()
            guard let parsed = Logger.Level(rawValue: name) else { throw CLIError.invalidLogLevel(text) }
            level = parsed
        } else {
            level = settings.level ?? .info
        }
        LoggingBootstrap.once(level: level, settings: settings)
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

/// `LoggingSystem.bootstrap` may run only once per process.
private enum LoggingBootstrap {
    private static let done = Atomic(false)

    static func once(level: Logger.Level, settings: LoggingSettings) {
        guard !done.exchange(true, ordering: .relaxed) else { return }
        LoggingSystem.bootstrap { label in
            switch settings.format {
            case .json:
                var handler = JSONLogHandler(label: label, descriptor: settings.toStandardError ? 2 : 1)
                handler.logLevel = level
                return handler
            case .text:
                var handler =
                    settings.toStandardError
                    ? StreamLogHandler.standardError(label: label)
                    : StreamLogHandler.standardOutput(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
