/// Where a replica lives, parsed from what a user wrote in a config file or on the command line.
///
/// Accepted today:
/// - `file:///abs/path`, `file://localhost/abs/path` and `file:/abs/path` (percent-decoded);
/// - a plain path, absolute or relative, taken as written (no percent-decoding). Relative paths
///   stay relative here; the IO layer resolves them against the working directory.
///
/// Object stores join as further cases (`s3(bucket:prefix:region:endpoint:)`,
/// `sftp(host:port:user:path:)`), each parsed from its own scheme in `init(parsing:)`.
public enum ReplicaURL: Equatable, Sendable, CustomStringConvertible {
    case file(path: String)
    /// `sftp://user[:password]@host[:port]/path?options`; see `SFTPLocation`.
    case sftp(SFTPLocation)
    /// `s3://bucket/prefix?endpoint=...&region=...&force-path-style=...&skip-verify=...`
    case s3(S3Location)

    /// Parses a replica URL or plain path; a one-line error says what was wrong and what to write.
    public init(parsing text: String) throws(ReplicaURLError) {
        guard !text.isEmpty, !text.allSatisfy({ $0 == " " || $0 == "\t" }) else { throw .empty }
        guard let scheme = Self.scheme(of: text) else {
            // `file:/abs/path` has no `//` but is a valid file URL (RFC 8089).
            if text.lowercased().hasPrefix("file:/") {
                self = .file(path: try Self.decodedFilePath(String(text.dropFirst("file:".count)), text: text))
                return
            }
            guard !text.utf8.contains(0) else { throw .invalidPath(text: text, reason: "it contains a NUL byte") }
            self = .file(path: text)
            return
        }
        let rest = String(text.dropFirst(scheme.count + "://".count))
        switch scheme.lowercased() {
        case "file":
            self = .file(path: try Self.parseFileURLRest(rest, text: text))
        case "sftp":
            self = .sftp(try SFTPLocation.parse(rest: rest, text: text))
        case "s3":
            self = .s3(try S3Location.parse(rest, text: ReplicaURLRedaction.redact(text)))
        default:
            throw .unsupportedScheme(scheme: scheme, text: ReplicaURLRedaction.redact(text))
        }
    }

    /// Whether `text` starts like a URL (`scheme://`), as opposed to a plain path.
    public static func looksLikeURL(_ text: String) -> Bool {
        scheme(of: text) != nil
    }

    /// The URL in its canonical spelling (`file:///abs/path`, or a relative path as written).
    /// Never contains a password.
    public var description: String {
        switch self {
        case .file(let path):
            guard path.hasPrefix("/") else { return path }
            return "file://" + Self.percentEncodePath(path)
        case .sftp(let location):
            return location.description
        case .s3(let location):
            return location.description
        }
    }

    // MARK: - Parsing helpers

    /// The scheme if `text` matches `^[A-Za-z][A-Za-z0-9+.-]*://`.
    static func scheme(of text: String) -> String? {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, isLetter(first) else { return nil }
        var end = 1
        while end < bytes.count,
            isLetter(bytes[end]) || isDigit(bytes[end]) || bytes[end] == 0x2B || bytes[end] == 0x2E
                || bytes[end] == 0x2D
        {
            end += 1
        }
        guard bytes.count >= end + 3, bytes[end] == 0x3A, bytes[end + 1] == 0x2F, bytes[end + 2] == 0x2F
        else { return nil }
        return String(decoding: bytes[..<end], as: UTF8.self)
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// `rest` is what follows `file://`: an optional host, then an absolute path.
    private static func parseFileURLRest(_ rest: String, text: String) throws(ReplicaURLError) -> String {
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let host = rest[..<slash]
        guard host.isEmpty || host.lowercased() == "localhost" else {
            throw .invalidPath(
                text: ReplicaURLRedaction.redact(text),
                reason: "file URLs cannot name a remote host '\(ReplicaURLRedaction.redact(String(host)))'")
        }
        let path = String(rest[slash...])
        guard !path.isEmpty else { throw .invalidPath(text: text, reason: "it has no path") }
        return try decodedFilePath(path, text: text)
    }

    private static func decodedFilePath(_ encoded: String, text: String) throws(ReplicaURLError) -> String {
        if encoded.contains("?") || encoded.contains("#") {
            throw .invalidPath(text: text, reason: "file URLs take no query or fragment (write '?' as %3F, '#' as %23)")
        }
        guard let path = percentDecode(encoded) else {
            throw .invalidPath(text: text, reason: "it has a malformed %-escape or is not UTF-8")
        }
        guard !path.utf8.contains(0) else { throw .invalidPath(text: text, reason: "it contains a NUL byte") }
        return path
    }

    static func percentDecode(_ text: String) -> String? { PercentDecoding.decode(text) }

    /// Escapes what would not survive a round trip through `init(parsing:)`.
    static func percentEncodePath(_ path: String) -> String {
        percentEncode(path, keeping: "/-._~!$&'()*+,;=:@")
    }

    /// Escapes every byte of `text` but ASCII letters, digits and `kept` as `%XX`.
    public static func percentEncode(_ text: String, keeping kept: String) -> String {
        var result = ""
        for byte in text.utf8 {
            if isLetter(byte) || isDigit(byte) || kept.utf8.contains(byte) {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return result
    }
}

/// Why a replica URL could not be used. Messages quote the URL with any password removed.
public enum ReplicaURLError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case unsupportedScheme(scheme: String, text: String)
    case invalidPath(text: String, reason: String)

    public var description: String {
        switch self {
        case .empty:
            return "empty replica URL: use file:///path or a plain path"
        case .unsupportedScheme(let scheme, let text):
            return
                "unsupported replica URL scheme '\(scheme)' in '\(ReplicaURLRedaction.redact(text))': use file:///path (or a plain path), s3://bucket/prefix or sftp://user@host/path"
        case .invalidPath(let text, let reason):
            return "invalid replica URL '\(ReplicaURLRedaction.redact(text))': \(reason)"
        }
    }
}

/// Removes the password from `scheme://user:password@host/...`, so a URL can be quoted in a
/// message or a log line.
public enum ReplicaURLRedaction {
    public static func redact(_ text: String) -> String {
        guard let scheme = ReplicaURL.scheme(of: text) else { return text }
        let authorityStart = text.index(text.startIndex, offsetBy: scheme.count + 3)
        let authorityEnd =
            text[authorityStart...].firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? text.endIndex
        let authority = text[authorityStart..<authorityEnd]
        guard let at = authority.lastIndex(of: "@") else { return text }
        let userInfo = authority[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":REDACTED" + String(text[at...])
    }
}
