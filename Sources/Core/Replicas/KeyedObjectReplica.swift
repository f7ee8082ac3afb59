/// A replica client built on two primitives, storing one object under a key and opening the
/// first of several candidate keys that exists; the `ReplicaClient` write and open calls follow
/// from them: writes go to `writeLayout`'s key, reads try the grouped key, then the legacy one.
public protocol KeyedObjectReplica: ReplicaClient {
    var writeLayout: ReplicaLayout { get }
    /// Stores `data` (read to its end, not closed) under `key`; returns the stored size and time.
    func writeObject(_ key: String, data: any ByteSource) async throws -> (size: Int64, modified: Timestamp)
    /// Stores `data` under `key` unless an object is there, then throws
    /// `ReplicaClientError.alreadyExists`. The default replaces it: fit for stores where no write
    /// lands after its writer gave up on it (a folder, SFTP's one ordered session).
    func writeNewObject(_ key: String, data: any ByteSource) async throws -> (size: Int64, modified: Timestamp)
    /// Opens the first of `keys` that exists; throws `ReplicaClientError.notFound` if none does.
    func openObject(_ keys: [String]) async throws -> any ByteSource
}

extension KeyedObjectReplica {
    public func writeNewObject(_ key: String, data: any ByteSource) async throws -> (size: Int64, modified: Timestamp) {
        try await writeObject(key, data: data)
    }

    /// Stores a snapshot. `data` is read to its end but not closed: its owner closes it.
    @discardableResult
    public func writeSnapshot(generation: Generation, index: UInt64, data: any ByteSource) async throws -> SnapshotInfo
    {
        let stored = try await writeObject(writeLayout.snapshotKey(generation, index: index), data: data)
        return SnapshotInfo(generation: generation, index: index, size: stored.size, createdAt: stored.modified)
    }

    /// Stores a WAL segment. `data` is read to its end but not closed: its owner closes it.
    @discardableResult
    public func writeWALSegment(at position: Position, data: any ByteSource) async throws -> WALSegmentInfo {
        let stored = try await writeNewObject(writeLayout.walSegmentKey(position), data: data)
        return WALSegmentInfo(
            generation: position.generation, index: position.index, offset: position.offset,
            size: stored.size, createdAt: stored.modified)
    }

    public func openSnapshot(generation: Generation, index: UInt64) async throws -> any ByteSource {
        try await openObject(ReplicaLayout.allCases.map { $0.snapshotKey(generation, index: index) })
    }

    public func openWALSegment(at position: Position) async throws -> any ByteSource {
        try await openObject(ReplicaLayout.allCases.map { $0.walSegmentKey(position) })
    }
}
