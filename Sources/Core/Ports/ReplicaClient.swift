/// A snapshot object on a replica: the database file consistent with WAL index `index`.
public struct SnapshotInfo: Sendable, Hashable {
    public var generation: Generation
    public var index: UInt64
    /// Stored (compressed) size in bytes.
    public var size: Int64
    /// When the object was written (upload time, not transaction time).
    public var createdAt: Timestamp

    public init(generation: Generation, index: UInt64, size: Int64, createdAt: Timestamp) {
        self.generation = generation
        self.index = index
        self.size = size
        self.createdAt = createdAt
    }
}

/// A WAL segment object on a replica: the WAL bytes of `index` starting at `offset`.
public struct WALSegmentInfo: Sendable, Hashable {
    public var generation: Generation
    public var index: UInt64
    public var offset: UInt64
    /// Stored (compressed) size in bytes.
    public var size: Int64
    /// When the object was written (upload time, not transaction time).
    public var createdAt: Timestamp

    public init(generation: Generation, index: UInt64, offset: UInt64, size: Int64, createdAt: Timestamp) {
        self.generation = generation
        self.index = index
        self.offset = offset
        self.size = size
        self.createdAt = createdAt
    }

    public var position: Position { Position(generation: generation, index: index, offset: offset) }
}

/// An error a replica client or its store can classify: a request that failed, or a sign that
/// the replica itself changed. A syncer keeps its cached position after the first kind only
/// (`ReplicaSyncer.putsPositionInDoubt`); any error that does not adopt this protocol is taken
/// as the second.
public protocol ReplicaRequestError: Error {
    /// Whether the error says the replica may hold less than it did (an object or the whole
    /// location gone, a conditional write that found someone else's change), not only that one
    /// request did not get through.
    var replicaMayHaveChanged: Bool { get }
    /// Whether the store will refuse this request however often it is sent (it does not
    /// implement it), so that waiting and trying again only delays the error.
    var retryCannotHelp: Bool { get }
}

extension ReplicaRequestError {
    public var retryCannotHelp: Bool { false }
}

/// Errors every replica client reports in the same shape.
public enum ReplicaClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The object does not exist.
    case notFound(replica: String, key: String)
    /// The replica location itself is missing or unusable.
    case unavailable(replica: String, reason: String)
    /// A listing holds a name that is neither a snapshot nor a WAL segment of either layout.
    case malformedObject(replica: String, key: String)
    /// A write meant to create an object found one under its key, and did not replace it.
    case alreadyExists(replica: String, key: String)

    public var description: String {
        switch self {
        case .notFound(let replica, let key): return "\(replica): \(key) does not exist"
        case .unavailable(let replica, let reason): return "\(replica): \(reason)"
        case .malformedObject(let replica, let key): return "\(replica): unexpected object \(key)"
        case .alreadyExists(let replica, let key): return "\(replica): \(key) already exists; not replaced"
        }
    }
}

/// The replica storage port: one location (a folder, a bucket prefix, an SFTP path) holding
/// generations of snapshots and WAL segments, each object one LZ4 frame.
///
/// Listings come back in no particular order; callers sort. Writes are whole-object. A snapshot
/// write replaces the object under its key. A WAL segment write never replaces one where the
/// store can refuse to (S3's `If-None-Match`): there a write can land after its writer gave up on
/// it (a killed replicator's request held in the network), over a different body its successor
/// stored under the same key; the writer that finds the key taken gets `.alreadyExists` and
/// continues after the segment that is there.
public protocol ReplicaClient: Sendable {
    /// A short scheme name: "file", "s3", "sftp".
    var kind: String { get }
    /// Where the replica is, for messages; never contains credentials.
    var location: String { get }

    /// Names of every generation on the replica. An empty replica returns an empty list.
    func generations() async throws -> [Generation]
    /// Every snapshot of a generation; empty if the generation does not exist.
    func snapshots(in generation: Generation) async throws -> [SnapshotInfo]
    /// Every WAL segment of a generation; empty if the generation does not exist.
    func walSegments(in generation: Generation) async throws -> [WALSegmentInfo]

    /// Stores an already-compressed snapshot, reading `data` to its end.
    @discardableResult
    func writeSnapshot(generation: Generation, index: UInt64, data: any ByteSource) async throws -> SnapshotInfo
    /// Stores an already-compressed WAL segment at `position`; throws `.alreadyExists`, on stores
    /// that can refuse, if a segment is there already.
    @discardableResult
    func writeWALSegment(at position: Position, data: any ByteSource) async throws -> WALSegmentInfo

    /// Opens a snapshot's compressed bytes; throws `.notFound` if it is missing.
    func openSnapshot(generation: Generation, index: UInt64) async throws -> any ByteSource
    /// Opens a WAL segment's compressed bytes; throws `.notFound` if it is missing.
    func openWALSegment(at position: Position) async throws -> any ByteSource

    /// Deletes one snapshot; a missing one is not an error.
    func deleteSnapshot(generation: Generation, index: UInt64) async throws
    /// Deletes WAL segments; missing ones are not an error.
    func deleteWALSegments(_ positions: [Position]) async throws
    /// Deletes a whole generation; a missing one is not an error.
    func deleteGeneration(_ generation: Generation) async throws
}
