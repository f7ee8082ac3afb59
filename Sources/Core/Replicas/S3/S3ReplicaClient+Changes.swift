extension S3ReplicaClient: ReplicaChangeListing {
    /// One ListObjectsV2 page of every key after the follower's last applied byte: keys sort by
    /// generation, then by index and offset inside one (16-hex names), so the page holds the
    /// followed generation's new segments first and then any newer generation's objects. A
    /// page that is cut short is fine: the next poll lists on from the new position.
    ///
    /// The start key is built in the grouped layout; a replica in Litestream's flat layout sorts
    /// differently, so it is followed through full listings instead.
    public func changes(after position: Position) async throws -> ReplicaChanges {
        let base = key(ReplicaLayout.generationsDirectory + "/")
        let startAfter = key(FollowDecision.listingStartKey(after: position))
        let query = [
            QueryItem("list-type", "2"), QueryItem("prefix", base), QueryItem("start-after", startAfter),
            QueryItem("max-keys", String(listPageSize)), QueryItem("encoding-type", "url"),
        ]
        let answer = try await perform(S3Operation(name: "ListObjectsV2", method: "GET", key: nil, query: query))
        try answer.requireSuccess(self, key: nil)
        guard let page = S3XML.listPage(answer.response.body) else {
            throw S3Error.malformedResponse(
                bucket: bucket, operation: "ListObjectsV2",
                reason: "the body is not a ListBucketResult")
        }
        let walBase = key(ReplicaLayout.walDirectory(position.generation) + "/")
        var entries: [ReplicaObjectEntry] = []
        var newer: Set<Generation> = []
        for object in page.objects {
            if object.key.hasPrefix(walBase) {
                entries.append(
                    ReplicaObjectEntry(
                        key: String(object.key.dropFirst(walBase.count)), size: object.size,
                        modified: object.lastModified))
            } else if let name = object.key.dropFirst(base.count).split(separator: "/").first,
                let generation = Generation(String(name)), generation > position.generation
            {
                newer.insert(generation)
            }
        }
        let segments = ReplicaLayout.walSegments(of: position.generation, from: entries)
        return ReplicaChanges(segments: segments, newerGenerations: Array(newer), listRequests: 1)
    }
}
