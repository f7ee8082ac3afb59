import Logging

/// A log handler that writes each message into the run's trace instead of a stream: the
/// messages join the digest (so a replay that logs differently shows a different digest) and
/// the last ones appear in a failure's trace tail, stamped with simulated time.
///
/// Metadata is sorted by key, so the traced line never depends on dictionary order. Outside a
/// run it drops messages.
public struct SimLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String

    public init(label: String, logLevel: Logger.Level = .info) {
        self.label = label
        self.logLevel = logLevel
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        for (key, value) in event.metadata ?? [:] { merged[key] = value }
        let fields = merged.keys.sorted().map { "\($0)=\(merged[$0]!)" }.joined(separator: " ")
        SimTrace.record("log \(label) \(event.level) \(event.message)\(fields.isEmpty ? "" : " " + fields)")
    }

    /// A logger whose messages go to the current run's trace.
    public static func logger(label: String, logLevel: Logger.Level = .info) -> Logger {
        Logger(label: label) { label in SimLogHandler(label: label, logLevel: logLevel) }
    }
}
