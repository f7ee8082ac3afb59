extension S3ReplicaClient {
    /// Streams `data` to `key`: one PUT when it fits in a part, else a multipart upload of
    /// equal parts (aborted if anything fails). Returns the byte count. `data` is read to its
    /// end but not closed: its owner closes it. With `ifAbsent`, an object already under `key`
    /// is left as it is and `ReplicaClientError.alreadyExists` thrown.
    func upload(_ key: String, data: any ByteSource, ifAbsent: Bool = false) async throws -> Int64 {
        let condition = ifAbsent ? [HTTPHeader("If-None-Match", "*")] : []
        var accumulator = S3PartAccumulator(partSize: partSize)
        var pending: [UInt8]?
        var uploadID: String?
        var etags: [String] = []
        var total: Int64 = 0
        do {
            while true {
                let chunk = try await data.read(upTo: min(1 << 20, partSize))
                if chunk.isEmpty { break }
                total += Int64(chunk.count)
                for part in accumulator.append(chunk) {
                    // A second full part means the object will not fit one PUT.
                    if let previous = pending {
                        if uploadID == nil { uploadID = try await createMultipartUpload(key) }
                        etags.append(
                            try await uploadPart(key, uploadID: uploadID!, number: etags.count + 1, bytes: previous))
                    }
                    pending = part
                }
            }
            let tail = accumulator.finish()
            if uploadID == nil && (pending == nil || tail.isEmpty) {
                try await putObject(key, bytes: pending ?? tail, extraHeaders: condition)
                return total
            }
            if uploadID == nil { uploadID = try await createMultipartUpload(key) }
            if let previous = pending {
                etags.append(try await uploadPart(key, uploadID: uploadID!, number: etags.count + 1, bytes: previous))
            }
            if !tail.isEmpty {
                etags.append(try await uploadPart(key, uploadID: uploadID!, number: etags.count + 1, bytes: tail))
            }
            try await completeMultipartUpload(key, uploadID: uploadID!, etags: etags, extraHeaders: condition)
            return total
        } catch {
            if let uploadID { await abortMultipartUpload(key, uploadID: uploadID) }
            throw error
        }
    }

    /// A single PUT with `Content-MD5`, so a corrupted body is refused rather than stored.
    func putObject(_ key: String, bytes: [UInt8], extraHeaders: [HTTPHeader] = []) async throws {
        let answer = try await perform(putOperation(key, bytes: bytes, extraHeaders: extraHeaders))
        try requireCreated(answer, key: key)
    }

    /// Throws unless `answer` is a success; a failed `If-None-Match` becomes `.alreadyExists`.
    private func requireCreated(_ answer: S3Answer, key: String) throws {
        if answer.isPreconditionFailure {
            throw ReplicaClientError.alreadyExists(replica: location, key: key)
        }
        try answer.requireSuccess(self, key: nil)
    }

    func putOperation(
        _ key: String, bytes: [UInt8], extraHeaders: [HTTPHeader] = [], deadline: Duration? = nil
    ) -> S3Operation {
        S3Operation(
            name: "PutObject", method: "PUT", key: key,
            headers: [
                HTTPHeader("Content-Type", "application/octet-stream"),
                HTTPHeader("Content-MD5", Digests.contentMD5(bytes)),
            ] + extraHeaders,
            body: bytes, deadline: deadline)
    }

    private func createMultipartUpload(_ key: String) async throws -> String {
        let answer = try await perform(
            S3Operation(
                name: "CreateMultipartUpload", method: "POST", key: key, query: [QueryItem("uploads")],
                headers: [HTTPHeader("Content-Type", "application/octet-stream")]))
        try answer.requireSuccess(self, key: nil)
        guard let id = S3XML.uploadID(answer.response.body), !id.isEmpty else {
            throw S3Error.malformedResponse(bucket: bucket, operation: "CreateMultipartUpload", reason: "no UploadId")
        }
        return id
    }

    private func uploadPart(_ key: String, uploadID: String, number: Int, bytes: [UInt8]) async throws -> String {
        let answer = try await perform(
            S3Operation(
                name: "UploadPart", method: "PUT", key: key,
                query: [QueryItem("partNumber", String(number)), QueryItem("uploadId", uploadID)],
                headers: [HTTPHeader("Content-MD5", Digests.contentMD5(bytes))], body: bytes))
        try answer.requireSuccess(self, key: nil)
        guard let etag = answer.response.header("ETag"), !etag.isEmpty else {
            throw S3Error.malformedResponse(
                bucket: bucket, operation: "UploadPart", reason: "no ETag for part \(number)")
        }
        return etag
    }

    private func completeMultipartUpload(
        _ key: String, uploadID: String, etags: [String], extraHeaders: [HTTPHeader]
    ) async throws {
        let body = S3XML.completeRequest(etags: etags)
        var operation = S3Operation(
            name: "CompleteMultipartUpload", method: "POST", key: key, query: [QueryItem("uploadId", uploadID)],
            headers: [HTTPHeader("Content-Type", "application/xml")] + extraHeaders, body: body)
        operation.successMayCarryError = true
        let answer = try await perform(operation)
        try requireCreated(answer, key: key)
        guard S3XML.completedETag(answer.response.body) != nil else {
            throw S3Error.malformedResponse(
                bucket: bucket, operation: "CompleteMultipartUpload",
                reason: "the body is not a CompleteMultipartUploadResult")
        }
    }

    /// Best effort: a failed abort leaves parts that a bucket lifecycle rule
    /// (AbortIncompleteMultipartUpload) cleans up.
    private func abortMultipartUpload(_ key: String, uploadID: String) async {
        _ = try? await perform(
            S3Operation(
                name: "AbortMultipartUpload", method: "DELETE", key: key, query: [QueryItem("uploadId", uploadID)]))
    }
}
