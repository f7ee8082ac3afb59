import Core
import SimHarness

/// The world's replica client with a hook before each upload, so a scenario can fail snapshot
/// or WAL writes on purpose (a hook that throws stops the write before it reaches the store),
/// and one before each read, so a scenario can stall a restore's download on the SimClock.
/// Everything else goes straight to the world's store.
// @unchecked: touched only on the simulator's one thread.
class InterceptingReplicaClient: ReplicaClient, @unchecked Sendable {
    let base: SimReplicaClient
    var beforeSnapshotWrite: (_ generation: Generation, _ index: UInt64) throws -> Void = { _, _ in }
    var beforeWALWrite: (_ position: Position) async throws -> Void = { _ in }
    /// Runs after a WAL write reached the store; a hook that throws makes it an ambiguous success.
    var afterWALWrite: (_ position: Position) async throws -> Void = { _ in }
    var beforeSnapshotRead: (_ generation: Generation, _ index: UInt64) async throws -> Void = { _, _ in }
    var beforeWALRead: (_ position: Position) async throws -> Void = { _ in }
    var beforeSnapshotListing: (_ generation: Generation) -> Void = { _ in }
    /// Runs before each listing of a generation's WAL segments; a hook that throws fails it.
    var beforeWALListing: (_ generation: Generation) throws -> Void = { _ in }
    /// A connection that breaks during any WAL upload larger than this (compressed bytes).
    var walUploadBreaksAfter: Int?
    /// Runs as each write or delete is issued, before any other hook.
    var beforeEveryWrite: (_ what: String) async throws -> Void = { _ in }
    /// Runs before each listing of the replica's generations.
    var beforeGenerationsListing: () async throws -> Void = {}

    init(base: SimReplicaClient) { self.base = base }

    /// The error a hook throws for an upload the store "refuses".
    static func refusal(_ what: String) -> SimObjectStoreError {
        .unavailable(operation: "PUT", key: what, status: 503, reason: "injected by the test")
    }

    var kind: String { base.kind }
    var location: String { base.location }
    func generations() async throws -> [Generation] {
        try await beforeGenerationsListing()
        return try await base.generations()
    }
    func snapshots(in generation: Generation) async throws -> [SnapshotInfo] {
        beforeSnapshotListing(generation)
        return try await base.snapshots(in: generation)
    }
    func walSegments(in generation: Generation) async throws -> [WALSegmentInfo] {
        try beforeWALListing(generation)
        return try await base.walSegments(in: generation)
    }
    func writeSnapshot(generation: Generation, index: UInt64, data: any ByteSource) async throws -> SnapshotInfo {
        try await beforeEveryWrite("snapshot \(generation)/\(index)")
        try beforeSnapshotWrite(generation, index)
        return try await base.writeSnapshot(generation: generation, index: index, data: data)
    }
    func writeWALSegment(at position: Position, data: any ByteSource) async throws -> WALSegmentInfo {
        try await beforeEveryWrite("WAL segment \(position)")
        try await beforeWALWrite(position)
        guard let limit = walUploadBreaksAfter else {
            let info = try await base.writeWALSegment(at: position, data: data)
            try await afterWALWrite(position)
            return info
        }
        let bytes = try await data.readToEnd()
        if bytes.count > limit { throw Self.refusal("wal \(position): connection reset after \(limit) bytes") }
        let info = try await base.writeWALSegment(at: position, data: BytesSource(bytes))
        try await afterWALWrite(position)
        return info
    }
    func openSnapshot(generation: Generation, index: UInt64) async throws -> any ByteSource {
        try await beforeSnapshotRead(generation, index)
        return try await base.openSnapshot(generation: generation, index: index)
    }
    func openWALSegment(at position: Position) async throws -> any ByteSource {
        try await beforeWALRead(position)
        return try await base.openWALSegment(at: position)
    }
    func deleteSnapshot(generation: Generation, index: UInt64) async throws {
        try await beforeEveryWrite("delete snapshot \(generation)/\(index)")
        try await base.deleteSnapshot(generation: generation, index: index)
    }
    func deleteWALSegments(_ positions: [Position]) async throws {
        try await beforeEveryWrite("delete \(positions.count) WAL segments")
        try await base.deleteWALSegments(positions)
    }
    func deleteGeneration(_ generation: Generation) async throws {
        try await beforeEveryWrite("delete generation \(generation)")
        try await base.deleteGeneration(generation)
    }
}

/// The intercepting client, taking leases on the world's store like the plain one.
// @unchecked: an InterceptingReplicaClient, touched only on the simulator's one thread.
final class LeasingInterceptingReplicaClient: InterceptingReplicaClient, ReplicaLeasing, @unchecked Sendable {
    /// Runs before each renewal reaches the store.
    var beforeRenewal: () async throws -> Void = {}
    /// Renewals on their way now, and the most ever at once.
    private(set) var renewalsInFlight = 0
    private(set) var mostRenewalsInFlight = 0
    private(set) var renewals = 0

    func acquireLease(owner: String, token: String, duration: Duration, now: Timestamp, supersedes: String?)
        async throws -> Lease
    {
        try await base.acquireLease(owner: owner, token: token, duration: duration, now: now, supersedes: supersedes)
    }
    func renewLease(_ lease: Lease, duration: Duration, now: Timestamp) async throws -> Lease {
        renewals += 1
        renewalsInFlight += 1
        mostRenewalsInFlight = max(mostRenewalsInFlight, renewalsInFlight)
        defer { renewalsInFlight -= 1 }
        try await beforeRenewal()
        return try await base.renewLease(lease, duration: duration, now: now)
    }
    func releaseLease(_ lease: Lease) async throws { try await base.releaseLease(lease) }
}
