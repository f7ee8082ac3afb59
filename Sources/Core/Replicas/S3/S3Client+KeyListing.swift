/// `sluice verify`'s raw listing of an S3 replica: every key under a generation's prefix.
extension S3ReplicaClient: ReplicaKeyListing {
    public func objectEntries(in generation: Generation) async throws -> [ReplicaObjectEntry] {
        // WAL first, then the rest: retention deletes snapshots before the WAL they needed.
        let base = key(ReplicaLayout.generationDirectory(generation) + "/")
        let wal = try await list(prefix: base + "wal/", delimiter: nil).objects
        let rest = try await list(prefix: base, delimiter: nil).objects.filter { !$0.key.hasPrefix(base + "wal/") }
        return (wal + rest).map {
            ReplicaObjectEntry(key: String($0.key.dropFirst(base.count)), size: $0.size, modified: $0.lastModified)
        }
    }

    public func strayGenerationNames() async throws -> [String] {
        let base = key(ReplicaLayout.generationsDirectory + "/")
        let (objects, prefixes) = try await list(prefix: base, delimiter: "/")
        let folders = prefixes.map { String($0.dropFirst(base.count).dropLast()) }.filter { Generation($0) == nil }
        return folders.map { $0 + "/" } + objects.map { String($0.key.dropFirst(base.count)) }
    }
}
