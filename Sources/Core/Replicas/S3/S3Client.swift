/// A replica in an S3 (or S3-compatible) bucket, under a key prefix, signed with SigV4 and sent
/// through an `HTTPTransport` (libcurl in production, `SimS3Endpoint` in the simulator).
///
/// Keys follow `ReplicaLayout` under the prefix; writes use `writeLayout`, listings and reads
/// understand both layouts. Objects up to one part are one PUT with `Content-MD5`; larger ones
/// are multipart uploads of equal parts, aborted on failure. Listings page through
/// ListObjectsV2; deletes go in DeleteObjects batches of at most 1000 keys. Requests are signed
/// afresh and retried per `S3RetryPolicy`.
public struct S3ReplicaClient: KeyedObjectReplica, ReplicaLeasing {
    public let configuration: S3Configuration
    public let writeLayout: ReplicaLayout
    /// Bytes per multipart part, and the largest object sent as a single PUT.
    public let partSize: Int
    /// Keys per ListObjectsV2 page (S3's maximum is 1000).
    public let listPageSize: Int
    public let retryPolicy: S3RetryPolicy
    let transport: any HTTPTransport
    let signer: S3Signer
    let wallClock: any WallClock
    let clock: any Clock<Duration>
    let random: any RandomSource

    public var kind: String { "s3" }
    public var location: String { configuration.location }
    var bucket: String { configuration.bucket }

    public init(
        configuration: S3Configuration, transport: any HTTPTransport, wallClock: any WallClock,
        clock: any Clock<Duration>, random: any RandomSource, writeLayout: ReplicaLayout = .grouped,
        partSize: Int = 8 << 20, listPageSize: Int = 1000, retryPolicy: S3RetryPolicy = S3RetryPolicy()
    ) {
        self.configuration = configuration
        self.transport = transport
        self.signer = S3Signer(credentials: configuration.credentials, region: configuration.region)
        self.wallClock = wallClock
        self.clock = clock
        self.random = random
        self.writeLayout = writeLayout
        self.partSize = max(1, partSize)
        self.listPageSize = min(max(1, listPageSize), 1000)
        self.retryPolicy = retryPolicy
    }

    /// `<prefix>/` or empty: what every key starts with.
    var keyPrefix: String { configuration.prefix.isEmpty ? "" : configuration.prefix + "/" }

    func key(_ relative: String) -> String { keyPrefix + relative }

    // MARK: - Listing

    public func generations() async throws -> [Generation] {
        let base = key(ReplicaLayout.generationsDirectory + "/")
        let (_, prefixes) = try await list(prefix: base, delimiter: "/")
        return prefixes.compactMap { Generation(String($0.dropFirst(base.count).dropLast())) }.sorted()
    }

    public func snapshots(in generation: Generation) async throws -> [SnapshotInfo] {
        let base = key(ReplicaLayout.snapshotsDirectory(generation) + "/")
        let entries = try await list(prefix: base, delimiter: nil).objects.map {
            ReplicaObjectEntry(key: String($0.key.dropFirst(base.count)), size: $0.size, modified: $0.lastModified)
        }
        return ReplicaLayout.snapshots(of: generation, from: entries)
    }

    public func walSegments(in generation: Generation) async throws -> [WALSegmentInfo] {
        let base = key(ReplicaLayout.walDirectory(generation) + "/")
        let entries = try await list(prefix: base, delimiter: nil).objects.map {
            ReplicaObjectEntry(key: String($0.key.dropFirst(base.count)), size: $0.size, modified: $0.lastModified)
        }
        return ReplicaLayout.walSegments(of: generation, from: entries)
    }

    /// Every object (and, with a delimiter, every common prefix) under `prefix`, all pages.
    func list(prefix: String, delimiter: String?) async throws -> (objects: [S3XML.ListPage.Object], prefixes: [String])
    {
        var objects: [S3XML.ListPage.Object] = []
        var prefixes: [String] = []
        var token: String?
        repeat {
            var query = [
                QueryItem("list-type", "2"), QueryItem("prefix", prefix),
                QueryItem("max-keys", String(listPageSize)), QueryItem("encoding-type", "url"),
            ]
            if let delimiter { query.append(QueryItem("delimiter", delimiter)) }
            if let token { query.append(QueryItem("continuation-token", token)) }
            let answer = try await perform(S3Operation(name: "ListObjectsV2", method: "GET", key: nil, query: query))
            try answer.requireSuccess(self, key: nil)
            guard let page = S3XML.listPage(answer.response.body) else {
                throw S3Error.malformedResponse(
                    bucket: bucket, operation: "ListObjectsV2", reason: "the body is not a ListBucketResult")
            }
            objects += page.objects
            prefixes += page.commonPrefixes
            guard page.isTruncated else { break }
            guard let next = page.nextContinuationToken, !next.isEmpty, next != token else {
                throw S3Error.malformedResponse(
                    bucket: bucket, operation: "ListObjectsV2",
                    reason: "a truncated page carries no new continuation token")
            }
            token = next
        } while true
        return (objects, prefixes)
    }

    // MARK: - Writing and reading (KeyedObjectReplica)

    public func writeObject(_ objectKey: String, data: any ByteSource) async throws -> (
        size: Int64, modified: Timestamp
    ) {
        let size = try await upload(key(objectKey), data: data)
        return (size, wallClock.now())
    }

    /// With `If-None-Match: *` on the PUT (or on CompleteMultipartUpload): S3 refuses it with 412
    /// when the key exists, including when an earlier attempt of this very write landed unseen.
    public func writeNewObject(_ objectKey: String, data: any ByteSource) async throws -> (
        size: Int64, modified: Timestamp
    ) {
        let size = try await upload(key(objectKey), data: data, ifAbsent: true)
        return (size, wallClock.now())
    }

    public func openObject(_ objectKeys: [String]) async throws -> any ByteSource {
        let keys = objectKeys.map(key)
        for key in keys {
            let answer = try await perform(S3Operation(name: "GetObject", method: "GET", key: key), streaming: true)
            if answer.response.status == 404 && answer.errorCode != "NoSuchBucket" { continue }
            try answer.requireSuccess(self, key: key)
            guard let body = answer.body else {
                throw S3Error.malformedResponse(bucket: bucket, operation: "GetObject", reason: "no body for \(key)")
            }
            return body
        }
        throw ReplicaClientError.notFound(replica: location, key: keys[0])
    }

    // MARK: - Deleting

    public func deleteSnapshot(generation: Generation, index: UInt64) async throws {
        try await deleteKeys(ReplicaLayout.allCases.map { key($0.snapshotKey(generation, index: index)) })
    }

    public func deleteWALSegments(_ positions: [Position]) async throws {
        try await deleteKeys(
            positions.flatMap { position in ReplicaLayout.allCases.map { key($0.walSegmentKey(position)) } })
    }

    public func deleteGeneration(_ generation: Generation) async throws {
        let objects = try await list(prefix: key(ReplicaLayout.generationDirectory(generation) + "/"), delimiter: nil)
            .objects
        try await deleteKeys(objects.map(\.key))
    }

    /// DeleteObjects in batches of at most 1000 keys (S3's limit; some servers do not enforce
    /// it), each with the `Content-MD5` S3 requires. Missing keys are not errors.
    func deleteKeys(_ keys: [String]) async throws {
        var start = 0
        while start < keys.count {
            let batch = Array(keys[start..<min(start + 1000, keys.count)])
            start += batch.count
            let body = S3XML.deleteRequest(keys: batch)
            let answer = try await perform(
                S3Operation(
                    name: "DeleteObjects", method: "POST", key: nil, query: [QueryItem("delete")],
                    headers: [
                        HTTPHeader("Content-Type", "application/xml"),
                        HTTPHeader("Content-MD5", Digests.contentMD5(body)),
                    ],
                    body: body))
            try answer.requireSuccess(self, key: nil)
            guard let errors = S3XML.deleteErrors(answer.response.body) else {
                throw S3Error.malformedResponse(
                    bucket: bucket, operation: "DeleteObjects", reason: "the body is not a DeleteResult")
            }
            if let failure = errors.first(where: { $0.code != "NoSuchKey" }) {
                throw S3Error.deleteFailed(
                    bucket: bucket, key: failure.key, code: failure.code, message: failure.message)
            }
        }
    }
}
