import Core

/// A request as the simulated S3 endpoint reads it: a path-style URL cut into bucket, key and
/// query, and headers looked up case-insensitively.
struct SimS3Request: Sendable {
    var method: String
    /// The path as sent (percent-encoded once), which SigV4 signs as is.
    var encodedPath: String
    var bucket: String
    /// The object key; nil for a request to the bucket itself.
    var key: String?
    var query: [QueryItem]
    var headers: [HTTPHeader]
    var body: [UInt8]
    var timeouts: HTTPTimeouts
    /// Whose reads these are, for the store's damage bookkeeping (a restore probe's name); set
    /// by the connection, never sent on the wire.
    var reader: String?

    /// Nil for a URL that is not `scheme://host/bucket[/key][?query]` with valid escapes.
    init?(_ request: HTTPRequest) {
        let url = Substring(request.url)
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return nil }
        let afterScheme = url[url.index(colon, offsetBy: 3)...]
        let pathAndQuery = afterScheme[(afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex)...]
        let questionMark = pathAndQuery.firstIndex(of: "?")
        encodedPath = String(pathAndQuery[..<(questionMark ?? pathAndQuery.endIndex)])
        guard let path = Self.percentDecoded(encodedPath), path.hasPrefix("/") else { return nil }
        let parts = path.dropFirst().split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, !first.isEmpty else { return nil }
        bucket = String(first)
        key = parts.count > 1 && !parts[1].isEmpty ? String(parts[1]) : nil
        var items: [QueryItem] = []
        if let questionMark {
            for pair in pathAndQuery[pathAndQuery.index(after: questionMark)...].split(separator: "&") {
                let halves = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let name = Self.percentDecoded(String(halves[0])),
                    let value = Self.percentDecoded(halves.count > 1 ? String(halves[1]) : "")
                else { return nil }
                items.append(QueryItem(name, value))
            }
        }
        query = items
        method = request.method
        headers = request.headers
        body = request.body
        timeouts = request.timeouts
    }

    func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    func queryValue(_ name: String) -> String? { query.first { $0.name == name }?.value }

    /// The S3 operation this request is, as the endpoint routes it.
    var operation: String {
        switch (method, key != nil) {
        case ("GET", false): return "ListObjectsV2"
        case ("POST", false): return queryValue("delete") != nil ? "DeleteObjects" : "UnknownBucketPost"
        case ("PUT", true): return queryValue("uploadId") != nil ? "UploadPart" : "PutObject"
        case ("GET", true): return "GetObject"
        case ("HEAD", true): return "HeadObject"
        case ("DELETE", true): return queryValue("uploadId") != nil ? "AbortMultipartUpload" : "DeleteObject"
        case ("POST", true):
            if queryValue("uploads") != nil { return "CreateMultipartUpload" }
            return queryValue("uploadId") != nil ? "CompleteMultipartUpload" : "UnknownObjectPost"
        default: return "Unknown"
        }
    }

    /// Why the signature is refused, or nil when it is the one `credentials` make for this request:
    /// the endpoint recomputes SigV4 over what arrived, so a signing bug answers 403 as S3 would.
    func signatureProblem(credentials: S3Credentials, region: String) -> (status: Int, code: String, message: String)? {
        guard let authorization = header("authorization"), authorization.hasPrefix("AWS4-HMAC-SHA256 ") else {
            return (403, "AccessDenied", "the request is not signed with AWS4-HMAC-SHA256")
        }
        var fields: [String: String] = [:]
        for field in authorization.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let pair = field.trimmingPrefix(" ").split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let credential = fields["Credential"], let signedNames = fields["SignedHeaders"],
            let amzDate = header("x-amz-date"), let payloadHash = header("x-amz-content-sha256")
        else {
            return (403, "AccessDenied", "the Authorization header or x-amz-date/x-amz-content-sha256 is incomplete")
        }
        guard credential.split(separator: "/").first.map(String.init) == credentials.accessKeyID else {
            return (403, "InvalidAccessKeyId", "the access key id does not exist")
        }
        guard payloadHash == Digests.hex(Digests.sha256(body)) else {
            return (400, "XAmzContentSHA256Mismatch", "the body does not match x-amz-content-sha256")
        }
        let signed = signedNames.split(separator: ";").compactMap { name in
            headers.first { $0.name.lowercased() == name }
        }
        let expected = S3Signer(credentials: credentials, region: region).authorizationHeader(
            method: method, canonicalURI: encodedPath, query: query, headers: signed, payloadHash: payloadHash,
            amzDate: amzDate)
        guard expected == authorization else {
            return (
                403, "SignatureDoesNotMatch",
                "the request signature we calculated does not match the signature you provided"
            )
        }
        return nil
    }

    static func percentDecoded(_ text: String) -> String? { PercentDecoding.decode(text) }
}
