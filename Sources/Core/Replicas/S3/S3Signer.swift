/// One query parameter, unencoded.
public struct QueryItem: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String = "") {
        self.name = name
        self.value = value
    }
}

/// Access keys for signing. `description` never shows the secret or the token.
public struct S3Credentials: Sendable, Equatable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String { "access key \(accessKeyID)\(sessionToken == nil ? "" : " (with session token)")" }
}

/// AWS Signature Version 4 with header-based auth, as S3 requires it: the payload is always
/// hashed and signed (`x-amz-content-sha256`), S3 paths are percent-encoded once, and only
/// `host`, `content-md5`, `content-type`, `range`, `if-*` and `x-amz-*` headers are signed:
/// proxies and gateways rewrite the others (`accept-encoding`, `user-agent`, `expect`).
public struct S3Signer: Sendable {
    public var credentials: S3Credentials
    public var region: String
    public var service: String

    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Hex SHA-256 of the empty body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The headers to send with an S3 request: `headers` plus `host`, `x-amz-date`,
    /// `x-amz-content-sha256`, `x-amz-security-token` (with temporary credentials) and
    /// `authorization`.
    ///
    /// - Parameters:
    ///   - path: The request path before encoding (`/bucket/key`); encoded here, once.
    ///   - host: The `Host` header: the endpoint's host, with its port when not the default.
    public func sign(
        method: String, host: String, path: String, query: [QueryItem], headers: [HTTPHeader],
        payloadHash: String, date: Timestamp
    ) -> [HTTPHeader] {
        let amzDate = Self.amzDate(date)
        var all = headers
        all.append(HTTPHeader("host", host))
        all.append(HTTPHeader("x-amz-date", amzDate))
        all.append(HTTPHeader("x-amz-content-sha256", payloadHash))
        if let token = credentials.sessionToken { all.append(HTTPHeader("x-amz-security-token", token)) }
        let signed = all.filter { Self.isSigned($0.name) }
        let authorization = authorizationHeader(
            method: method, canonicalURI: Self.encodePath(path), query: query, headers: signed,
            payloadHash: payloadHash, amzDate: amzDate)
        all.append(HTTPHeader("authorization", authorization))
        return all
    }

    /// The `Authorization` value for a request whose headers to sign are exactly `headers`.
    public func authorizationHeader(
        method: String, canonicalURI: String, query: [QueryItem], headers: [HTTPHeader],
        payloadHash: String, amzDate: String
    ) -> String {
        let (canonical, signedHeaders) = Self.canonicalRequest(
            method: method, canonicalURI: canonicalURI, query: query, headers: headers, payloadHash: payloadHash)
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let toSign = Self.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical)
        let key = Self.signingKey(secret: credentials.secretAccessKey, day: day, region: region, service: service)
        let signature = Digests.hex(Digests.hmacSHA256(key: key, Array(toSign.utf8)))
        return
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
    }

    // MARK: - The steps, exposed for tests against AWS's published intermediate values

    /// The canonical request and the `SignedHeaders` list.
    public static func canonicalRequest(
        method: String, canonicalURI: String, query: [QueryItem],
        headers: [HTTPHeader], payloadHash: String
    ) -> (String, String) {
        // Repeated headers join their values with commas in the order given (AWS's rule).
        var merged: [String: [String]] = [:]
        for header in headers {
            merged[header.name.lowercased(), default: []].append(trimHeaderValue(header.value))
        }
        let names = merged.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let canonicalHeaders = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let text = [method, canonicalURI, canonicalQuery(query), canonicalHeaders, signedHeaders, payloadHash]
            .joined(separator: "\n")
        return (text, signedHeaders)
    }

    public static func stringToSign(amzDate: String, scope: String, canonicalRequest: String) -> String {
        "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope)\n\(Digests.hex(Digests.sha256(Array(canonicalRequest.utf8))))"
    }

    public static func signingKey(secret: String, day: String, region: String, service: String) -> [UInt8] {
        var key = Digests.hmacSHA256(key: Array("AWS4\(secret)".utf8), Array(day.utf8))
        key = Digests.hmacSHA256(key: key, Array(region.utf8))
        key = Digests.hmacSHA256(key: key, Array(service.utf8))
        return Digests.hmacSHA256(key: key, Array("aws4_request".utf8))
    }

    /// Encoded `name=value` pairs sorted by encoded name, then value, joined with `&`. The same
    /// string is the request's query, so what is sent is what was signed.
    public static func canonicalQuery(_ items: [QueryItem]) -> String {
        items.map { (encode($0.name), encode($0.value)) }
            .sorted { lhs, rhs in
                lhs.0 != rhs.0
                    ? Array(lhs.0.utf8).lexicographicallyPrecedes(Array(rhs.0.utf8))
                    : Array(lhs.1.utf8).lexicographicallyPrecedes(Array(rhs.1.utf8))
            }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Percent-encodes every byte except `A-Z a-z 0-9 - _ . ~` (and `/` when `keepSlash`),
    /// with uppercase hex: RFC 3986 unreserved characters, as SigV4 requires.
    public static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0xF)]))
            }
        }
        return out
    }

    /// An S3 path encoded once, slashes kept; the empty path is `/`.
    public static func encodePath(_ path: String) -> String {
        let encoded = encode(path, keepSlash: true)
        return encoded.hasPrefix("/") ? encoded : "/" + encoded
    }

    /// `YYYYMMDDTHHMMSSZ` in UTC.
    public static func amzDate(_ time: Timestamp) -> String {
        let whole = Timestamp(
            millisecondsSince1970: time.millisecondsSince1970 - ((time.millisecondsSince1970 % 1000) + 1000) % 1000)
        return String(RFC3339.format(whole).filter { $0 != "-" && $0 != ":" })
    }

    /// Leading and trailing spaces removed, inner runs of spaces collapsed to one.
    static func trimHeaderValue(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    static func isSigned(_ name: String) -> Bool {
        let name = name.lowercased()
        return name == "host" || name == "content-md5" || name == "content-type" || name == "range"
            || name.hasPrefix("if-") || name.hasPrefix("x-amz-")
    }
}
