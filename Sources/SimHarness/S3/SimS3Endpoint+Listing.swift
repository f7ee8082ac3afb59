import Core

/// ListObjectsV2 and DeleteObjects over the store.
extension SimS3Endpoint {
    /// ListObjectsV2: one store page, cut to `max-keys` entries. The continuation token names
    /// the last entry returned ("start after"), so keys written or deleted between two pages
    /// show up or vanish in the next page as they would in S3.
    func listObjects(_ request: SimS3Request) async throws -> HTTPResponse {
        guard request.queryValue("list-type") == "2" else {
            return S3Answers.error(
                400, "InvalidArgument", "only ListObjectsV2 is served", resource: request.encodedPath)
        }
        let prefix = request.queryValue("prefix") ?? ""
        let maxKeys = min(max(request.queryValue("max-keys").flatMap(Int.init) ?? 1000, 1), 1000)
        let delimiter = request.queryValue("delimiter").flatMap(\.first)
        var startAfter = request.queryValue("start-after").flatMap { $0.isEmpty ? nil : $0 }
        if let token = request.queryValue("continuation-token") {
            guard let decoded = Self.decodeToken(token) else {
                return S3Answers.error(
                    400, "InvalidArgument", "The continuation token provided is incorrect",
                    resource: request.encodedPath)
            }
            startAfter = max(startAfter ?? "", decoded)
        }
        let page = try await store.listPage(
            prefix: prefix, delimiter: delimiter, startAfter: startAfter, reader: request.reader)
        var entries: [(name: String, object: SimObjectStore.ObjectInfo?)] =
            page.objects.map { ($0.key, $0) } + page.commonPrefixes.map { ($0, nil) }
        entries.sort { $0.name < $1.name }
        let truncated = entries.count > maxKeys || page.nextStartAfter != nil
        entries = Array(entries.prefix(maxKeys))
        let encode = request.queryValue("encoding-type") == "url"
        func text(_ value: String) -> String { S3XML.escape(encode ? S3Answers.urlEncoded(value) : value) }
        var xml =
            "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>\(bucket)</Name>"
            + "<Prefix>\(text(prefix))</Prefix><KeyCount>\(entries.count)</KeyCount><MaxKeys>\(maxKeys)</MaxKeys>"
            + "<IsTruncated>\(truncated)</IsTruncated>"
        if encode { xml += "<EncodingType>url</EncodingType>" }
        if let delimiter { xml += "<Delimiter>\(text(String(delimiter)))</Delimiter>" }
        if let token = request.queryValue("continuation-token") {
            xml += "<ContinuationToken>\(S3XML.escape(token))</ContinuationToken>"
        }
        if truncated, let last = entries.last {
            xml += "<NextContinuationToken>\(Self.encodeToken(last.name))</NextContinuationToken>"
        }
        for entry in entries {
            if let object = entry.object {
                xml +=
                    "<Contents><Key>\(text(object.key))</Key><LastModified>\(RFC3339.format(object.modified))</LastModified>"
                    + "<ETag>\(S3XML.escape(S3Answers.etag(object.version)))</ETag><Size>\(object.size)</Size>"
                    + "<StorageClass>STANDARD</StorageClass></Contents>"
            } else {
                xml += "<CommonPrefixes><Prefix>\(text(entry.name))</Prefix></CommonPrefixes>"
            }
        }
        return S3Answers.xml(xml + "</ListBucketResult>")
    }

    /// DeleteObjects: each key deleted in its own store operation; a store failure on one key is
    /// an `<Error>` entry for it, as S3 reports per-key failures in a 200 answer.
    func deleteObjects(_ request: SimS3Request) async throws -> HTTPResponse {
        guard request.header("content-md5") != nil else {
            return S3Answers.error(
                400, "InvalidRequest", "Missing required header for this request: Content-MD5",
                resource: request.encodedPath)
        }
        if let refused = digestProblem(request) { return refused }
        guard let root = S3XML.parse(request.body), root.name == "Delete" else {
            return S3Answers.error(
                400, "MalformedXML", "The XML you provided was not well-formed", resource: request.encodedPath)
        }
        let keys = root.all("Object").compactMap { $0.value("Key") }
        guard keys.count <= 1000 else {
            return S3Answers.error(
                400, "MalformedXML", "more than 1000 keys in one DeleteObjects", resource: request.encodedPath)
        }
        let quiet = root.value("Quiet") == "true"
        var xml = "<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for key in keys {
            do {
                try await store.delete(key)
                if !quiet { xml += "<Deleted><Key>\(S3XML.escape(key))</Key></Deleted>" }
            } catch SimObjectStoreError.unavailable(_, _, let status, _) where status != 0 {
                let code = status == 503 ? "SlowDown" : "InternalError"
                xml +=
                    "<Error><Key>\(S3XML.escape(key))</Key><Code>\(code)</Code><Message>store failure</Message></Error>"
            } catch SimObjectStoreError.unavailable {
                // The store applied it and lost its own answer: within one request, S3 knows it is done.
                if !quiet { xml += "<Deleted><Key>\(S3XML.escape(key))</Key></Deleted>" }
            }
        }
        return S3Answers.xml(xml + "</DeleteResult>")
    }

    /// An opaque continuation token: the last listed entry, hex-encoded.
    static func encodeToken(_ name: String) -> String { Digests.hex(Array(name.utf8)) }

    static func decodeToken(_ token: String) -> String? {
        let digits = Array(token.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = hexDigit(digits[index]), let low = hexDigit(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }
}
