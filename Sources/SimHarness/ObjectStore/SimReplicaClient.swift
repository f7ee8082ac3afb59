import Core

/// A replica on the simulated object store, keyed like every other replica (`ReplicaLayout`):
/// writes use `writeLayout`, listings and reads understand both layouts, and the grouped copy
/// wins when both exist, as in `FileReplicaClient`.
///
/// Store errors pass through unchanged (the engine retries them), except a missing object,
/// which becomes `ReplicaClientError.notFound`. The lease lives in one object, `<root>/lease`,
/// changed only by conditional writes, so two replicators can never both hold it.
public struct SimReplicaClient: ReplicaClient, ReplicaLeasing {
    public let store: SimObjectStore
    /// The key prefix of this replica, without a trailing slash ("" for the bucket root).
    public let root: String
    public let writeLayout: ReplicaLayout
    /// The name the store records the damage this client's listings and reads meet under
    /// (`SimObjectStore.takeDamageSeen(by:)`); nil records nothing.
    public let reader: String?

    public var kind: String { "sim" }
    public var location: String { "sim://\(root)" }

    public init(store: SimObjectStore, root: String, writeLayout: ReplicaLayout = .grouped, reader: String? = nil) {
        var root = root
        while root.hasSuffix("/") { root.removeLast() }
        self.store = store
        self.root = root
        self.writeLayout = writeLayout
        self.reader = reader
    }

    /// The same replica, with the damage its requests meet recorded under `reader`.
    public func reading(as reader: String) -> SimReplicaClient {
        SimReplicaClient(store: store, root: root, writeLayout: writeLayout, reader: reader)
    }

    /// The lease object's key.
    public var leaseKey: String { key("lease") }

    // MARK: - Listing

    public func generations() async throws -> [Generation] {
        let prefix = key(ReplicaLayout.generationsDirectory) + "/"
        let (_, folders) = try await list(prefix: prefix, delimiter: "/")
        return folders.compactMap { Generation(String($0.dropFirst(prefix.count).dropLast())) }.sorted()
    }

    public func snapshots(in generation: Generation) async throws -> [SnapshotInfo] {
        let prefix = key(ReplicaLayout.snapshotsDirectory(generation)) + "/"
        let (objects, _) = try await list(prefix: prefix, delimiter: "/")
        return ReplicaLayout.snapshots(
            of: generation,
            from: objects.map {
                ReplicaObjectEntry(key: Self.relative($0.key, to: prefix), size: $0.size, modified: $0.modified)
            })
    }

    public func walSegments(in generation: Generation) async throws -> [WALSegmentInfo] {
        let prefix = key(ReplicaLayout.walDirectory(generation)) + "/"
        let (objects, _) = try await list(prefix: prefix, delimiter: nil)
        return ReplicaLayout.walSegments(
            of: generation,
            from: objects.map {
                ReplicaObjectEntry(key: Self.relative($0.key, to: prefix), size: $0.size, modified: $0.modified)
            })
    }

    /// `key` without `prefix` (which it starts with), cut by bytes: listings of a generation's
    /// WAL cut thousands of keys, and a Character-wise cut walks each one.
    private static func relative(_ key: String, to prefix: String) -> String {
        String(decoding: key.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
    }

    // MARK: - Writing

    /// Stores a snapshot. `data` is read to its end but not closed: its owner closes it.
    @discardableResult
    public func writeSnapshot(generation: Generation, index: UInt64, data: any ByteSource) async throws -> SnapshotInfo
    {
        let object = try await store.put(
            key(writeLayout.snapshotKey(generation, index: index)), try await data.readToEnd())
        return SnapshotInfo(generation: generation, index: index, size: object.size, createdAt: object.modified)
    }

    /// Stores a WAL segment. `data` is read to its end but not closed: its owner closes it.
    @discardableResult
    public func writeWALSegment(at position: Position, data: any ByteSource) async throws -> WALSegmentInfo {
        let object = try await store.put(key(writeLayout.walSegmentKey(position)), try await data.readToEnd())
        return WALSegmentInfo(
            generation: position.generation, index: position.index, offset: position.offset,
            size: object.size, createdAt: object.modified)
    }

    // MARK: - Reading

    public func openSnapshot(generation: Generation, index: UInt64) async throws -> any ByteSource {
        try await open(ReplicaLayout.allCases.map { key($0.snapshotKey(generation, index: index)) })
    }

    public func openWALSegment(at position: Position) async throws -> any ByteSource {
        try await open(ReplicaLayout.allCases.map { key($0.walSegmentKey(position)) })
    }

    // MARK: - Deleting

    public func deleteSnapshot(generation: Generation, index: UInt64) async throws {
        for layout in ReplicaLayout.allCases {
            try await store.delete(key(layout.snapshotKey(generation, index: index)))
        }
    }

    public func deleteWALSegments(_ positions: [Position]) async throws {
        for position in positions {
            for layout in ReplicaLayout.allCases {
                try await store.delete(key(layout.walSegmentKey(position)))
            }
        }
    }

    public func deleteGeneration(_ generation: Generation) async throws {
        let (objects, _) = try await list(
            prefix: key(ReplicaLayout.generationDirectory(generation)) + "/", delimiter: nil)
        for object in objects { try await store.delete(object.key) }
    }

    // MARK: - Lease

    public func acquireLease(owner: String, token: String, duration: Duration, now: Timestamp, supersedes: String?)
        async throws -> Lease
    {
        let wanted = Lease(owner: owner, token: token, expires: now + duration)
        guard let current = try await readLease() else {
            do {
                let object = try await store.putIfAbsent(leaseKey, wanted.encoded)
                return leaseWithVersion(wanted, object.version)
            } catch SimObjectStoreError.preconditionFailed {
                // Someone created it between our read and our write: report who.
                guard let winner = try await readLease() else {
                    throw SimObjectStoreError.preconditionFailed(key: leaseKey)
                }
                throw LeaseError.held(replica: location, holder: winner.lease)
            }
        }
        guard current.lease.token == token || current.lease.expires <= now || current.lease.isSuperseded(by: supersedes)
        else {
            throw LeaseError.held(replica: location, holder: current.lease)
        }
        do {
            let object = try await store.putIfVersion(leaseKey, wanted.encoded, version: current.version)
            return leaseWithVersion(wanted, object.version)
        } catch SimObjectStoreError.preconditionFailed {
            guard let winner = try await readLease() else {
                throw SimObjectStoreError.preconditionFailed(key: leaseKey)
            }
            throw LeaseError.held(replica: location, holder: winner.lease)
        }
    }

    public func renewLease(_ lease: Lease, duration: Duration, now: Timestamp) async throws -> Lease {
        guard let current = try await readLease() else {
            throw LeaseError.lost(replica: location, reason: "the lease object was removed")
        }
        guard current.lease.token == lease.token else {
            throw LeaseError.lost(replica: location, reason: "\(current.lease.owner) took it over")
        }
        let renewed = Lease(owner: lease.owner, token: lease.token, expires: now + duration)
        do {
            let object = try await store.putIfVersion(leaseKey, renewed.encoded, version: current.version)
            return leaseWithVersion(renewed, object.version)
        } catch SimObjectStoreError.preconditionFailed {
            throw LeaseError.lost(replica: location, reason: "the lease changed while renewing it")
        }
    }

    public func releaseLease(_ lease: Lease) async throws {
        guard let current = try await readLease(), current.lease.token == lease.token else { return }
        do {
            try await store.deleteIfVersion(leaseKey, version: current.version)
        } catch SimObjectStoreError.preconditionFailed {
            // Taken over meanwhile: it is not ours to remove.
        }
    }

    private func readLease() async throws -> (lease: Lease, version: UInt64)? {
        // One request for bytes and version: a separate HEAD could see a newer write, and a
        // compare-and-swap against it would overwrite a lease we never read.
        let bytes: [UInt8]
        let info: SimObjectStore.ObjectInfo
        do {
            (bytes, info) = try await store.getObject(leaseKey)
        } catch SimObjectStoreError.notFound {
            return nil
        }
        guard let lease = Lease.decode(bytes, version: String(info.version)) else {
            throw ReplicaClientError.malformedObject(replica: location, key: leaseKey)
        }
        return (lease, info.version)
    }

    private func leaseWithVersion(_ lease: Lease, _ version: UInt64) -> Lease {
        var lease = lease
        lease.version = String(version)
        return lease
    }

    /// The replica object stored under `key` (either layout), or nil for another key (the lease).
    public func object(at key: String) -> ReplicaObject? {
        let prefix = root.isEmpty ? "" : root + "/"
        guard key.hasPrefix(prefix) else { return nil }
        let parts = Self.relative(key, to: prefix).split(separator: "/").map(String.init)
        guard parts.count >= 4, parts[0] == ReplicaLayout.generationsDirectory, let generation = Generation(parts[1])
        else { return nil }
        switch (parts[2], parts.count) {
        case ("snapshots", 4):
            return ReplicaLayout.parseSnapshotName(parts[3]).map { .snapshot(generation: generation, index: $0) }
        case ("wal", 5):
            guard let index = ReplicaLayout.parseIndexDirectoryName(parts[3]),
                let offset = ReplicaLayout.parseGroupedSegmentName(parts[4])
            else { return nil }
            return .walSegment(Position(generation: generation, index: index, offset: offset))
        case ("wal", 4):
            return ReplicaLayout.parseLegacySegmentName(parts[3]).map {
                .walSegment(Position(generation: generation, index: $0.index, offset: $0.offset))
            }
        default:
            return nil
        }
    }

    // MARK: - Helpers

    private func key(_ relative: String) -> String { root.isEmpty ? relative : "\(root)/\(relative)" }

    /// Pages through a whole listing.
    private func list(prefix: String, delimiter: Character?) async throws -> ([SimObjectStore.ObjectInfo], [String]) {
        var objects: [SimObjectStore.ObjectInfo] = []
        var folders: [String] = []
        var startAfter: String?
        repeat {
            let page = try await store.listPage(
                prefix: prefix, delimiter: delimiter, startAfter: startAfter, reader: reader)
            objects += page.objects
            folders += page.commonPrefixes
            startAfter = page.nextStartAfter
        } while startAfter != nil
        return (objects, folders)
    }

    /// Reads the first key that exists, whole, into memory.
    private func open(_ keys: [String]) async throws -> any ByteSource {
        for key in keys {
            do {
                return BytesSource(try await store.get(key, reader: reader))
            } catch SimObjectStoreError.notFound {
                continue
            }
        }
        throw ReplicaClientError.notFound(replica: location, key: keys[0])
    }
}
