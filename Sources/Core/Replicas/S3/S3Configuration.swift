/// Everything an S3 client needs, resolved from an `s3://` URL and the process environment.
public struct S3Configuration: Sendable, Equatable {
    public var bucket: String
    public var prefix: String
    /// `http` or `https`.
    public var scheme: String
    /// The endpoint host (AWS's regional host when no endpoint was given), with `:port` if any.
    public var endpointHost: String
    /// A path the endpoint itself lives under (rare; e.g. a gateway at `/s3`), without a trailing slash.
    public var endpointPath: String
    public var region: String
    public var pathStyle: Bool
    public var verifyTLS: Bool
    public var caBundle: String?
    public var credentials: S3Credentials

    /// The URL as users wrote it, for messages: never has credentials.
    public var location: String

    /// Resolves `location` against `environment`, reading the shared credentials file through
    /// `readFile` (nil when the file is missing). Pure apart from `readFile`, so it is
    /// testable with a dictionary.
    ///
    /// Credentials, first found wins: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+
    /// `AWS_SESSION_TOKEN`); `LITESTREAM_ACCESS_KEY_ID` + `LITESTREAM_SECRET_ACCESS_KEY`; the
    /// profile `AWS_PROFILE` (or `default`) of `AWS_SHARED_CREDENTIALS_FILE` (or
    /// `~/.aws/credentials`). Region: the URL's, then `AWS_REGION`, `AWS_DEFAULT_REGION`, then
    /// `us-east-1`.
    public static func resolve(
        _ location: S3Location, environment: [String: String],
        readFile: (String) -> String?
    ) throws(S3ConfigurationError) -> S3Configuration {
        let bucket = location.bucket
        let region =
            location.region ?? nonEmpty(environment["AWS_REGION"]) ?? nonEmpty(environment["AWS_DEFAULT_REGION"])
            ?? "us-east-1"

        let scheme: String
        let host: String
        let endpointPath: String
        if let endpoint = location.endpoint {
            let colon = endpoint.firstIndex(of: ":")!
            scheme = endpoint[..<colon].lowercased()
            let afterScheme = endpoint[endpoint.index(colon, offsetBy: 3)...]
            let slash = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
            host = afterScheme[..<slash].lowercased()
            endpointPath = String(afterScheme[slash...])
        } else {
            scheme = "https"
            host = region == "us-east-1" ? "s3.amazonaws.com" : "s3.\(region).amazonaws.com"
            endpointPath = ""
        }
        // Virtual-hosted names cannot hold dots under TLS wildcard certificates, and custom
        // endpoints (MinIO, moto, B2, ...) mostly want path style.
        let pathStyle = location.forcePathStyle ?? (location.endpoint != nil || bucket.contains("."))

        let credentials = try resolveCredentials(bucket: bucket, environment: environment, readFile: readFile)
        return S3Configuration(
            bucket: bucket, prefix: location.prefix, scheme: scheme, endpointHost: host, endpointPath: endpointPath,
            region: region, pathStyle: pathStyle, verifyTLS: !location.skipVerify,
            caBundle: caBundle(from: environment), credentials: credentials,
            location: location.description)
    }

    /// The CA bundle named by the environment: `AWS_CA_BUNDLE`, then `CURL_CA_BUNDLE`, then
    /// `SSL_CERT_FILE`; nil when none is set.
    public static func caBundle(from environment: [String: String]) -> String? {
        for name in ["AWS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"] {
            if let value = environment[name], !value.isEmpty { return value }
        }
        return nil
    }

    static func resolveCredentials(
        bucket: String, environment: [String: String],
        readFile: (String) -> String?
    ) throws(S3ConfigurationError) -> S3Credentials {
        for (idName, secretName) in [
            ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
            ("LITESTREAM_ACCESS_KEY_ID", "LITESTREAM_SECRET_ACCESS_KEY"),
        ] {
            let id = nonEmpty(environment[idName])
            let secret = nonEmpty(environment[secretName])
            switch (id, secret) {
            case (let id?, let secret?):
                return S3Credentials(
                    accessKeyID: id, secretAccessKey: secret,
                    sessionToken: nonEmpty(environment["AWS_SESSION_TOKEN"]))
            case (.some, nil):
                throw .incompleteCredentials(bucket: bucket, present: idName, missing: secretName)
            case (nil, .some):
                throw .incompleteCredentials(bucket: bucket, present: secretName, missing: idName)
            case (nil, nil):
                continue
            }
        }

        let profile = nonEmpty(environment["AWS_PROFILE"]) ?? "default"
        let file: String
        if let configured = nonEmpty(environment["AWS_SHARED_CREDENTIALS_FILE"]) {
            file = configured
        } else if let home = nonEmpty(environment["HOME"]) {
            file = home + "/.aws/credentials"
        } else {
            throw .missingCredentials(bucket: bucket)
        }
        guard let text = readFile(file) else { throw .missingCredentials(bucket: bucket) }
        let sections = SharedCredentialsFile.parse(text)
        guard let section = sections[profile] else {
            throw .profileMissing(bucket: bucket, profile: profile, file: file)
        }
        guard let id = nonEmpty(section["aws_access_key_id"]), let secret = nonEmpty(section["aws_secret_access_key"])
        else {
            throw .profileIncomplete(bucket: bucket, profile: profile, file: file)
        }
        return S3Credentials(
            accessKeyID: id, secretAccessKey: secret, sessionToken: nonEmpty(section["aws_session_token"]))
    }

    private static func nonEmpty(_ value: String?) -> String? {
        guard let value, !value.isEmpty else { return nil }
        return value
    }
}

/// The INI-style `~/.aws/credentials` file: `[profile]` sections of `key = value` lines.
enum SharedCredentialsFile {
    static func parse(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = rawLine.trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                var name = String(line.dropFirst().dropLast()).trimmingSpaces()
                // `~/.aws/config` spells non-default sections `[profile name]`; accept both.
                if name.hasPrefix("profile ") { name = String(name.dropFirst("profile ".count)).trimmingSpaces() }
                current = name
                sections[name, default: [:]] = sections[name] ?? [:]
                continue
            }
            guard let current, let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals]).trimmingSpaces().lowercased()
            let value = String(line[line.index(after: equals)...]).trimmingSpaces()
            sections[current, default: [:]][key] = value
        }
        return sections
    }
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }),
            let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" })
        else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}

/// Why an S3 replica cannot be configured. Messages name the bucket and the fix, never a secret.
public enum S3ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingCredentials(bucket: String)
    case incompleteCredentials(bucket: String, present: String, missing: String)
    case profileMissing(bucket: String, profile: String, file: String)
    case profileIncomplete(bucket: String, profile: String, file: String)

    public var description: String {
        switch self {
        case .missingCredentials(let bucket):
            return
                "s3 bucket \(bucket): no credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add a profile to ~/.aws/credentials"
        case .incompleteCredentials(let bucket, let present, let missing):
            return "s3 bucket \(bucket): \(present) is set but \(missing) is not; set both"
        case .profileMissing(let bucket, let profile, let file):
            return
                "s3 bucket \(bucket): no credentials; profile [\(profile)] is not in \(file) (set AWS_PROFILE or AWS_ACCESS_KEY_ID)"
        case .profileIncomplete(let bucket, let profile, let file):
            return
                "s3 bucket \(bucket): profile [\(profile)] in \(file) lacks aws_access_key_id or aws_secret_access_key"
        }
    }
}
