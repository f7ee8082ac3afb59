import Core

/// The answers the simulated S3 endpoint sends, shaped as S3's: XML bodies, `<Error>` documents
/// with a Code, and ETags that name the store's version of an object.
enum S3Answers {
    static func error(_ status: Int, _ code: String, _ message: String, resource: String, head: Bool = false)
        -> HTTPResponse
    {
        // HEAD answers carry no body, as S3's do.
        guard !head else { return HTTPResponse(status: status, headers: [], body: []) }
        let xml =
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>\(code)</Code><Message>\(S3XML.escape(message))</Message>"
            + "<Resource>\(S3XML.escape(resource))</Resource><RequestId>sim</RequestId></Error>"
        return HTTPResponse(
            status: status, headers: [HTTPHeader("Content-Type", "application/xml")], body: Array(xml.utf8))
    }

    static func xml(_ document: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(
            status: status, headers: [HTTPHeader("Content-Type", "application/xml")],
            body: Array(("<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + document).utf8))
    }

    static func empty(_ status: Int, headers: [HTTPHeader] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: headers, body: [])
    }

    /// The ETag of a stored version: quoted, as S3 sends them.
    static func etag(_ version: UInt64) -> String { "\"\(version)\"" }

    /// The store version an `If-Match` ETag names, or nil for one this endpoint never sent.
    static func version(ofETag etag: String) -> UInt64? {
        var text = Substring(etag)
        if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = text.dropFirst().dropLast() }
        return UInt64(text)
    }

    /// The headers of an object answer (GET and HEAD).
    static func objectHeaders(_ info: SimObjectStore.ObjectInfo) -> [HTTPHeader] {
        [
            HTTPHeader("ETag", etag(info.version)), HTTPHeader("Content-Length", String(info.size)),
            HTTPHeader("Last-Modified", RFC3339.format(info.modified)),
            HTTPHeader("Content-Type", "application/octet-stream"),
        ]
    }

    /// A key or prefix as `encoding-type=url` returns it: percent-encoded but for `/`.
    static func urlEncoded(_ text: String) -> String { S3Signer.encode(text, keepSlash: true) }
}
