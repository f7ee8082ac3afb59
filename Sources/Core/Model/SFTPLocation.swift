/// An SFTP replica location, parsed from
/// `sftp://user[:password]@host[:port]/path[?key=PATH&known-hosts=PATH&host-key-sha256=B64&insecure-host-key=true]`.
///
/// Authentication: a private key file (`key=`, with `key.pub` beside it when present), or the
/// URL's password; with a key, the password (if any) unlocks the key. The server's host key is
/// checked against `host-key-sha256` when given (the base64 SHA-256 fingerprint that
/// `ssh-keygen -lf key.pub` prints after `SHA256:`), else against a known_hosts file
/// (`known-hosts=`, default `~/.ssh/known_hosts`); `insecure-host-key=true` skips the check.
public struct SFTPLocation: Equatable, Sendable, CustomStringConvertible {
    /// How the server's identity is checked.
    public enum HostKeyCheck: Equatable, Sendable {
        /// Against a known_hosts file; nil means `~/.ssh/known_hosts`.
        case knownHosts(path: String?)
        /// Against a pinned SHA-256 fingerprint, unpadded base64.
        case sha256(String)
        /// Not at all (tests, trusted networks).
        case insecure
    }

    public var user: String
    /// Never printed: `description` and every message replace it.
    public var password: String?
    /// A host name or IP address (IPv6 without brackets).
    public var host: String
    public var port: Int
    /// The replica root on the server: absolute, or `/~/...` for the user's home.
    public var path: String
    public var privateKeyPath: String?
    public var hostKeyCheck: HostKeyCheck

    public init(
        user: String, password: String? = nil, host: String, port: Int = 22, path: String,
        privateKeyPath: String? = nil, hostKeyCheck: HostKeyCheck = .knownHosts(path: nil)
    ) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.path = path
        self.privateKeyPath = privateKeyPath
        self.hostKeyCheck = hostKeyCheck
    }

    /// `sftp://user@host:port/path`, for messages: no password, no options.
    public var address: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return
            "sftp://\(ReplicaURL.percentEncodeUserInfo(user))@\(hostPart):\(port)\(ReplicaURL.percentEncodePath(path))"
    }

    /// The URL in canonical spelling, with the password replaced by `REDACTED`.
    public var description: String {
        var text = address
        if password != nil {
            let prefix = "sftp://" + ReplicaURL.percentEncodeUserInfo(user)
            text = prefix + ":REDACTED" + text.dropFirst(prefix.count)
        }
        var query: [String] = []
        if let key = privateKeyPath { query.append("key=" + ReplicaURL.percentEncodeQueryValue(key)) }
        switch hostKeyCheck {
        case .knownHosts(nil): break
        case .knownHosts(let path?): query.append("known-hosts=" + ReplicaURL.percentEncodeQueryValue(path))
        case .sha256(let fingerprint):
            query.append("host-key-sha256=" + ReplicaURL.percentEncodeQueryValue(fingerprint))
        case .insecure: query.append("insecure-host-key=true")
        }
        return query.isEmpty ? text : text + "?" + query.joined(separator: "&")
    }

    /// The query keys `parse` accepts.
    public static let queryKeys = ["host-key-sha256", "insecure-host-key", "key", "known-hosts"]

    /// Parses what follows `sftp://`; `text` is the whole URL, quoted (redacted) in errors.
    static func parse(rest: String, text: String) throws(ReplicaURLError) -> SFTPLocation {
        func fail(_ reason: String) -> ReplicaURLError { .invalidPath(text: text, reason: reason) }
        func decode(_ part: Substring, _ what: String) throws(ReplicaURLError) -> String {
            guard let value = ReplicaURL.percentDecode(String(part)), !value.utf8.contains(0) else {
                throw fail("its \(what) has a malformed %-escape, a NUL byte or is not UTF-8")
            }
            return value
        }

        guard !rest.contains("#") else { throw fail("SFTP URLs take no fragment (write '#' as %23)") }
        let queryStart = rest.firstIndex(of: "?")
        let beforeQuery = rest[..<(queryStart ?? rest.endIndex)]
        let slash = beforeQuery.firstIndex(of: "/") ?? beforeQuery.endIndex
        let authority = beforeQuery[..<slash]
        let encodedPath = beforeQuery[slash...]

        // user[:password]@host[:port]; the last '@' ends the user info (passwords may hold '@').
        guard let at = authority.lastIndex(of: "@") else {
            throw fail("it names no user: write sftp://user@host/path")
        }
        let userInfo = authority[..<at]
        let hostPort = authority[authority.index(after: at)...]
        let colon = userInfo.firstIndex(of: ":")
        let user = try decode(userInfo[..<(colon ?? userInfo.endIndex)], "user")
        guard !user.isEmpty else { throw fail("it names no user: write sftp://user@host/path") }
        let password = try colon.map { c throws(ReplicaURLError) in
            try decode(userInfo[userInfo.index(after: c)...], "password")
        }

        var host: Substring
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw fail("its IPv6 host lacks a closing ']'") }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("unexpected text after the host's ']'") }
                portText = after.dropFirst()
            }
        } else if let c = hostPort.lastIndex(of: ":") {
            host = hostPort[..<c]
            portText = hostPort[hostPort.index(after: c)...]
        } else {
            host = hostPort
        }
        guard !host.isEmpty else { throw fail("it names no host: write sftp://user@host/path") }
        let hostName = try decode(host, "host")
        var port = 22
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw fail("port '\(portText)' is not a number from 1 to 65535")
            }
            port = value
        }

        let path = try decode(encodedPath, "path")
        guard path.hasPrefix("/") else { throw fail("it has no path: write sftp://user@host/path/to/replica") }
        var location = SFTPLocation(user: user, password: password, host: hostName, port: port, path: path)

        // Options; every key is known, and each is given at most once.
        var seen: Set<String> = []
        var insecure = false
        var knownHosts: String?
        var fingerprint: String?
        if let queryStart {
            for pair in rest[rest.index(after: queryStart)...].split(separator: "&", omittingEmptySubsequences: true) {
                let equals = pair.firstIndex(of: "=") ?? pair.endIndex
                let key = try decode(pair[..<equals], "query")
                let value = equals == pair.endIndex ? "" : try decode(pair[pair.index(after: equals)...], "query")
                guard Self.queryKeys.contains(key) else {
                    throw fail("unknown option '\(key)' (known: \(Self.queryKeys.joined(separator: ", ")))")
                }
                guard seen.insert(key).inserted else { throw fail("option '\(key)' is given twice") }
                guard !value.isEmpty else { throw fail("option '\(key)' has no value") }
                switch key {
                case "key": location.privateKeyPath = value
                case "known-hosts": knownHosts = value
                case "host-key-sha256":
                    guard let normalized = Self.normalizedFingerprint(value) else {
                        throw fail(
                            "host-key-sha256 must be the 43-character base64 SHA-256 fingerprint that 'ssh-keygen -lf' prints after 'SHA256:'"
                        )
                    }
                    fingerprint = normalized
                default:
                    switch value.lowercased() {
                    case "true", "1", "yes": insecure = true
                    case "false", "0", "no": insecure = false
                    default: throw fail("insecure-host-key must be true or false")
                    }
                }
            }
        }
        let checks = (insecure ? 1 : 0) + (knownHosts == nil ? 0 : 1) + (fingerprint == nil ? 0 : 1)
        guard checks <= 1 else {
            throw fail("choose one of host-key-sha256, known-hosts and insecure-host-key")
        }
        if insecure {
            location.hostKeyCheck = .insecure
        } else if let fingerprint {
            location.hostKeyCheck = .sha256(fingerprint)
        } else {
            location.hostKeyCheck = .knownHosts(path: knownHosts)
        }
        return location
    }

    /// Accepts `SHA256:<b64>` or `<b64>`, with or without `=` padding; nil unless it is 32 bytes
    /// of base64.
    static func normalizedFingerprint(_ text: String) -> String? {
        var value = Substring(text)
        if value.hasPrefix("SHA256:") { value = value.dropFirst("SHA256:".count) }
        while value.hasSuffix("=") { value = value.dropLast() }
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        guard value.count == 43, value.allSatisfy({ alphabet.contains($0) }) else { return nil }
        return String(value)
    }
}

extension ReplicaURL {
    /// Escapes a user name so `:`, `@` and `/` inside it survive a round trip.
    static func percentEncodeUserInfo(_ text: String) -> String {
        percentEncode(text, keeping: "-._~!$&'()*+,;=")
    }

    /// Escapes a query value so `&`, `=`, `#` and `%` inside it survive a round trip.
    static func percentEncodeQueryValue(_ text: String) -> String {
        percentEncode(text, keeping: "-._~!$'()*+,;:@/")
    }
}
