/// S3's XML documents: listings, errors, delete results and multipart answers.
package enum S3XML {
    /// The root element, or nil if the bytes are not well-formed XML.
    package static func parse(_ bytes: [UInt8]) -> XMLNode? {
        try? XMLReader.parse(bytes)
    }

    /// An `<Error>` document: code, message, request id, and what some errors add (the
    /// resource, the bucket, and for redirects the bucket's region or endpoint).
    struct ErrorBody: Equatable {
        var code: String
        var message: String
        var requestID: String?
        var resource: String? = nil
        var bucketName: String? = nil
        var region: String? = nil
        var endpoint: String? = nil
    }

    static func error(_ bytes: [UInt8]) -> ErrorBody? {
        guard let root = parse(bytes), root.name == "Error" else { return nil }
        return ErrorBody(
            code: root.value("Code") ?? "", message: root.value("Message") ?? "",
            requestID: root.value("RequestId"), resource: root.value("Resource"),
            bucketName: root.value("BucketName"), region: root.value("Region"),
            endpoint: root.value("Endpoint"))
    }

    /// One page of a ListObjectsV2 answer.
    struct ListPage: Equatable {
        struct Object: Equatable {
            var key: String
            var size: Int64
            var lastModified: Timestamp
        }
        var objects: [Object]
        var commonPrefixes: [String]
        var nextContinuationToken: String?
        var isTruncated: Bool
    }

    static func listPage(_ bytes: [UInt8]) -> ListPage? {
        guard let root = parse(bytes), root.name == "ListBucketResult" else { return nil }
        // Keys come back URL-encoded only when the answer says so (some services ignore the ask).
        let urlEncoded = root.value("EncodingType") == "url"
        func decode(_ text: String) -> String? { urlEncoded ? formDecoded(text) : text }
        var objects: [ListPage.Object] = []
        for node in root.all("Contents") {
            guard let encoded = node.value("Key"), let key = decode(encoded) else { return nil }
            objects.append(
                ListPage.Object(
                    key: key, size: Int64(node.value("Size") ?? "") ?? 0,
                    lastModified: RFC3339.parse(node.value("LastModified") ?? "") ?? Timestamp(millisecondsSince1970: 0)
                ))
        }
        var prefixes: [String] = []
        for node in root.all("CommonPrefixes") {
            guard let encoded = node.value("Prefix") else { continue }
            guard let prefix = decode(encoded) else { return nil }
            prefixes.append(prefix)
        }
        return ListPage(
            objects: objects, commonPrefixes: prefixes,
            nextContinuationToken: root.value("NextContinuationToken"),
            isTruncated: root.value("IsTruncated") == "true")
    }

    /// Keys a DeleteObjects answer reports as not deleted, with their codes.
    static func deleteErrors(_ bytes: [UInt8]) -> [(key: String, code: String, message: String)]? {
        guard let root = parse(bytes), root.name == "DeleteResult" else { return nil }
        return root.all("Error").map { ($0.value("Key") ?? "", $0.value("Code") ?? "", $0.value("Message") ?? "") }
    }

    static func uploadID(_ bytes: [UInt8]) -> String? {
        guard let root = parse(bytes), root.name == "InitiateMultipartUploadResult" else { return nil }
        return root.value("UploadId")
    }

    /// The ETag of a CompleteMultipartUpload answer, or nil if the body is not one (an `<Error>`
    /// in a 200 answer is found by `error(_:)` first). A body cut short is not one either: S3
    /// answers 200 at once and reports a failure later in the body, so a truncated body proves
    /// nothing. moto names the root `CompleteMultipartUploadResponse`; both names are accepted.
    static func completedETag(_ bytes: [UInt8]) -> String? {
        guard let root = parse(bytes),
            root.name == "CompleteMultipartUploadResult" || root.name == "CompleteMultipartUploadResponse"
        else { return nil }
        return root.value("ETag") ?? ""
    }

    /// `application/x-www-form-urlencoded` decoding, as S3 applies to keys with
    /// `encoding-type=url`: `+` is a space and `%XX` a byte; nil for a broken escape or bytes
    /// that are not UTF-8.
    static func formDecoded(_ text: String) -> String? { PercentDecoding.decode(text, plusIsSpace: true) }

    /// The DeleteObjects request body (quiet mode: only failures are reported).
    static func deleteRequest(keys: [String]) -> [UInt8] {
        var xml =
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
        for key in keys { xml += "<Object><Key>\(escape(key))</Key></Object>" }
        xml += "</Delete>"
        return Array(xml.utf8)
    }

    /// The CompleteMultipartUpload request body: parts in ascending order with their ETags.
    static func completeRequest(etags: [String]) -> [UInt8] {
        var xml =
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for (index, etag) in etags.enumerated() {
            xml += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(escape(etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        return Array(xml.utf8)
    }

    package static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
