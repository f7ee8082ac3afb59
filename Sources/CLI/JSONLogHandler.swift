import Core
import Glibc
import IO
import Logging
import Synchronization

/// `logging.type: json`: one JSON object per line, `{"time":...,"level":"INFO","msg":...}` with
/// the logger's and the call's metadata as further string fields (`db`, `replica`, `error`, ...),
/// the field names Litestream's JSON logs use, so the same log pipeline reads both.
struct JSONLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    let label: String
    /// 1 (stdout) or 2 (stderr).
    let descriptor: Int32

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let level = event.level
        let message = event.message
        var fields = metadata
        if let explicit = event.metadata { fields.merge(explicit) { _, new in new } }
        if let error = event.error { fields["error"] = "\(error)" }
        var text = "{\"time\":" + Self.quoted(RFC3339.format(SystemWallClock().now()))
        text += ",\"level\":" + Self.quoted(Self.levelName(level))
        text += ",\"msg\":" + Self.quoted(message.description)
        // Sorted, so two lines with the same fields read the same.
        for key in fields.keys.sorted() where !["time", "level", "msg"].contains(key) {
            text += "," + Self.quoted(key) + ":" + Self.quoted("\(fields[key]!)")
        }
        text += "}\n"
        Self.lock.withLock { _ in
            _ = Array(text.utf8).withUnsafeBytes { POSIX.writeAll(descriptor, $0) }
        }
    }

    /// Lines from many threads must not interleave.
    private static let lock = Mutex(())

    static func levelName(_ level: Logger.Level) -> String {
        switch level {
        case .trace: return "TRACE"
        case .debug: return "DEBUG"
        case .info: return "INFO"
        case .notice: return "NOTICE"
        case .warning: return "WARN"
        case .error: return "ERROR"
        case .critical: return "CRITICAL"
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
