import Core

/// Single-object requests and multipart uploads, answered as S3 answers them.
extension SimS3Endpoint {
    /// PutObject: the body checked against `Content-MD5`; `If-None-Match: *` and `If-Match`
    /// become the store's conditional writes (412 when they fail, 404 for `If-Match` on a key
    /// that is gone).
    func putObject(_ request: SimS3Request) async throws -> HTTPResponse {
        let key = request.key!
        if let refused = digestProblem(request) { return refused }
        let info: SimObjectStore.ObjectInfo
        do {
            if request.header("if-none-match") == "*" {
                info = try await store.putIfAbsent(key, request.body)
            } else if let etag = request.header("if-match") {
                guard let version = S3Answers.version(ofETag: etag) else { return preconditionFailed(key) }
                info = try await store.putIfVersion(key, request.body, version: version)
            } else {
                info = try await store.put(key, request.body)
            }
        } catch SimObjectStoreError.preconditionFailed {
            if request.header("if-match") != nil, await store.peek(key) == nil { return noSuchKey(key) }
            if request.header("if-none-match") != nil { statistics.refusedCreates += 1 }
            return preconditionFailed(key)
        }
        return S3Answers.empty(200, headers: [HTTPHeader("ETag", S3Answers.etag(info.version))])
    }

    /// GetObject and HeadObject: the bytes and the ETag of one version.
    func getObject(_ request: SimS3Request) async throws -> HTTPResponse {
        let key = request.key!
        let isHead = request.method == "HEAD"
        do {
            let (bytes, info) = try await store.getObject(key, reader: request.reader)
            return HTTPResponse(status: 200, headers: S3Answers.objectHeaders(info), body: isHead ? [] : bytes)
        } catch SimObjectStoreError.notFound {
            return isHead ? S3Answers.empty(404) : noSuchKey(key)
        }
    }

    /// DeleteObject: 204 whether or not the key existed; with `If-Match`, 412 when another
    /// version is there.
    func deleteObject(_ request: SimS3Request) async throws -> HTTPResponse {
        let key = request.key!
        do {
            if let etag = request.header("if-match") {
                guard let version = S3Answers.version(ofETag: etag) else { return preconditionFailed(key) }
                try await store.deleteIfVersion(key, version: version)
            } else {
                try await store.delete(key)
            }
        } catch SimObjectStoreError.preconditionFailed {
            return preconditionFailed(key)
        }
        return S3Answers.empty(204)
    }

    // MARK: - Multipart

    func createMultipartUpload(_ request: SimS3Request) -> HTTPResponse {
        let id = "sim-upload-\(nextUploadNumber)"
        nextUploadNumber += 1
        statistics.multipartUploads += 1
        uploads[id] = (request.key!, [:])
        return S3Answers.xml(
            "<InitiateMultipartUploadResult><Bucket>\(bucket)</Bucket><Key>\(S3XML.escape(request.key!))</Key>"
                + "<UploadId>\(id)</UploadId></InitiateMultipartUploadResult>")
    }

    func uploadPart(_ request: SimS3Request) -> HTTPResponse {
        guard let id = request.queryValue("uploadId"), uploads[id]?.key == request.key else {
            return noSuchUpload(request)
        }
        guard let number = request.queryValue("partNumber").flatMap(Int.init), (1...10_000).contains(number) else {
            return S3Answers.error(
                400, "InvalidArgument", "Part number must be an integer between 1 and 10000",
                resource: request.encodedPath)
        }
        if let refused = digestProblem(request) { return refused }
        uploads[id]!.parts[number] = request.body
        return S3Answers.empty(200, headers: [HTTPHeader("ETag", Self.partETag(request.body))])
    }

    /// CompleteMultipartUpload: the listed parts, in ascending order with matching ETags,
    /// become one object written to the store in one operation (refused with 412 under
    /// `If-None-Match: *` when the key exists; the upload stays open for an abort, as on S3).
    func completeMultipartUpload(_ request: SimS3Request) async throws -> HTTPResponse {
        guard let id = request.queryValue("uploadId"), let upload = uploads[id], upload.key == request.key else {
            return noSuchUpload(request)
        }
        guard let root = S3XML.parse(request.body), root.name == "CompleteMultipartUpload" else {
            return S3Answers.error(
                400, "MalformedXML", "The XML you provided was not well-formed", resource: request.encodedPath)
        }
        var bytes: [UInt8] = []
        var previous = 0
        for part in root.all("Part") {
            guard let number = part.value("PartNumber").flatMap(Int.init), number > previous else {
                return S3Answers.error(
                    400, "InvalidPartOrder", "The list of parts was not in ascending order",
                    resource: request.encodedPath)
            }
            guard let stored = upload.parts[number], part.value("ETag") == Self.partETag(stored) else {
                return S3Answers.error(
                    400, "InvalidPart", "One or more of the specified parts could not be found",
                    resource: request.encodedPath)
            }
            previous = number
            bytes += stored
        }
        guard previous > 0 else {
            return S3Answers.error(
                400, "MalformedXML", "The XML you provided was not well-formed", resource: request.encodedPath)
        }
        let info: SimObjectStore.ObjectInfo
        if request.header("if-none-match") == "*" {
            do {
                info = try await store.putIfAbsent(upload.key, bytes)
            } catch SimObjectStoreError.preconditionFailed {
                statistics.refusedCreates += 1
                return preconditionFailed(upload.key)
            }
        } else {
            info = try await store.put(upload.key, bytes)
        }
        uploads[id] = nil
        return S3Answers.xml(
            "<CompleteMultipartUploadResult><Bucket>\(bucket)</Bucket><Key>\(S3XML.escape(upload.key))</Key>"
                + "<ETag>\(S3Answers.etag(info.version))</ETag></CompleteMultipartUploadResult>")
    }

    func abortMultipartUpload(_ request: SimS3Request) -> HTTPResponse {
        guard let id = request.queryValue("uploadId"), uploads[id] != nil else { return noSuchUpload(request) }
        uploads[id] = nil
        return S3Answers.empty(204)
    }

    /// Multipart uploads started and neither completed nor aborted.
    public var openUploads: Int { uploads.count }

    // MARK: - Helpers

    /// 400 BadDigest when `Content-MD5` does not match the body; nil when it does or is absent.
    func digestProblem(_ request: SimS3Request) -> HTTPResponse? {
        guard let md5 = request.header("content-md5"), md5 != Digests.contentMD5(request.body) else { return nil }
        return S3Answers.error(
            400, "BadDigest", "The Content-MD5 you specified did not match what we received.",
            resource: request.encodedPath)
    }

    static func partETag(_ bytes: [UInt8]) -> String { "\"" + Digests.hex(Digests.md5(bytes)) + "\"" }

    func preconditionFailed(_ key: String) -> HTTPResponse {
        S3Answers.error(
            412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", resource: key)
    }

    func noSuchKey(_ key: String) -> HTTPResponse {
        S3Answers.error(404, "NoSuchKey", "The specified key does not exist.", resource: key)
    }

    func noSuchUpload(_ request: SimS3Request) -> HTTPResponse {
        S3Answers.error(404, "NoSuchUpload", "The specified upload does not exist.", resource: request.encodedPath)
    }
}
