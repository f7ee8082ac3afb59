/// Where an S3 replica lives: `s3://bucket/prefix?endpoint=URL&region=R&force-path-style=true&skip-verify=true`.
///
/// Credentials never appear here: they come from the environment or the shared credentials
/// file, so a URL can be logged and recorded beside the database.
public struct S3Location: Sendable, Equatable, CustomStringConvertible {
    public var bucket: String
    /// Key prefix without leading or trailing slashes; empty for the bucket root.
    public var prefix: String
    /// A custom endpoint (`http://127.0.0.1:9000`, `https://<account>.r2.cloudflarestorage.com`),
    /// or nil for AWS.
    public var endpoint: String?
    public var region: String?
    /// Path-style (`endpoint/bucket/key`) instead of virtual-hosted (`bucket.endpoint/key`)
    /// addressing; nil chooses: path style for custom endpoints, virtual-hosted for AWS.
    public var forcePathStyle: Bool?
    /// Turns TLS verification off; for test endpoints only.
    public var skipVerify: Bool

    public init(
        bucket: String, prefix: String = "", endpoint: String? = nil, region: String? = nil,
        forcePathStyle: Bool? = nil, skipVerify: Bool = false
    ) {
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint = endpoint
        self.region = region
        self.forcePathStyle = forcePathStyle
        self.skipVerify = skipVerify
    }

    /// The query keys `s3://` URLs accept.
    public static let queryKeys = ["endpoint", "region", "force-path-style", "skip-verify"]

    /// Parses what follows `s3://`; `text` is the whole URL, for messages.
    static func parse(_ rest: String, text: String) throws(ReplicaURLError) -> S3Location {
        func invalid(_ reason: String) -> ReplicaURLError { .invalidPath(text: text, reason: reason) }
        if rest.contains("#") { throw invalid("s3 URLs take no fragment") }
        let queryStart = rest.firstIndex(of: "?")
        let beforeQuery = rest[..<(queryStart ?? rest.endIndex)]
        let slash = beforeQuery.firstIndex(of: "/") ?? beforeQuery.endIndex
        let bucket = String(beforeQuery[..<slash])
        if bucket.contains("@") {
            throw invalid("credentials do not belong in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        guard !bucket.isEmpty else { throw invalid("it names no bucket; write s3://bucket/prefix") }
        guard (3...63).contains(bucket.utf8.count),
            bucket.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 45 }),
            bucket.first != "." && bucket.first != "-", bucket.last != "." && bucket.last != "-"
        else {
            throw invalid("'\(bucket)' is not a valid bucket name (3-63 lowercase letters, digits, dots and hyphens)")
        }
        guard let decodedPath = ReplicaURL.percentDecode(String(beforeQuery[slash...])) else {
            throw invalid("its path has a malformed %-escape or is not UTF-8")
        }
        let prefix = decodedPath.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")

        var location = S3Location(bucket: bucket, prefix: prefix)
        var seen: Set<String> = []
        if let queryStart {
            for pair in rest[rest.index(after: queryStart)...].split(separator: "&", omittingEmptySubsequences: true) {
                let equals = pair.firstIndex(of: "=") ?? pair.endIndex
                let key = String(pair[..<equals])
                let rawValue = equals < pair.endIndex ? String(pair[pair.index(after: equals)...]) : ""
                guard let value = ReplicaURL.percentDecode(rawValue) else {
                    throw invalid("the value of '\(key)' has a malformed %-escape")
                }
                guard queryKeys.contains(key) else {
                    throw invalid("unknown option '\(key)'; s3 URLs accept \(queryKeys.joined(separator: ", "))")
                }
                guard seen.insert(key).inserted else { throw invalid("option '\(key)' is given twice") }
                switch key {
                case "endpoint":
                    try location.endpoint = validatedEndpoint(value, invalid)
                case "region":
                    guard !value.isEmpty else { throw invalid("region is empty") }
                    location.region = value
                case "force-path-style":
                    location.forcePathStyle = try boolean(key, value, invalid)
                default:
                    location.skipVerify = try boolean(key, value, invalid)
                }
            }
        }
        return location
    }

    private static func validatedEndpoint(_ value: String, _ invalid: (String) -> ReplicaURLError)
        throws(ReplicaURLError) -> String
    {
        let lower = value.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
            throw invalid("endpoint '\(value)' must start with http:// or https://")
        }
        let afterScheme = value[value.index(value.firstIndex(of: ":")!, offsetBy: 3)...]
        let host = afterScheme.prefix { $0 != "/" }
        guard !host.isEmpty else { throw invalid("endpoint '\(value)' names no host") }
        guard !host.contains("@") else { throw invalid("endpoint must not contain credentials") }
        var endpoint = value
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        return endpoint
    }

    private static func boolean(_ key: String, _ value: String, _ invalid: (String) -> ReplicaURLError)
        throws(ReplicaURLError) -> Bool
    {
        switch value.lowercased() {
        case "true", "1", "yes", "": return true
        case "false", "0", "no": return false
        default: throw invalid("\(key) must be true or false, not '\(value)'")
        }
    }

    /// The canonical URL: options in a fixed order, values escaped so it parses back equal.
    public var description: String {
        var text = "s3://\(bucket)"
        if !prefix.isEmpty { text += "/" + ReplicaURL.percentEncodePath(prefix) }
        var options: [String] = []
        if let endpoint { options.append("endpoint=" + Self.escapeQueryValue(endpoint)) }
        if let region { options.append("region=" + Self.escapeQueryValue(region)) }
        if let forcePathStyle { options.append("force-path-style=\(forcePathStyle)") }
        if skipVerify { options.append("skip-verify=true") }
        if !options.isEmpty { text += "?" + options.joined(separator: "&") }
        return text
    }

    private static func escapeQueryValue(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "%", "&", "#", "=", "+", " ": out += "%" + String(scalar.value, radix: 16, uppercase: true)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
