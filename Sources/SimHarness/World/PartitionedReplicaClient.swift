import Core

/// A replicator process's client on a machine a `NetworkPartition` cuts off the object store.
/// While the partition lasts, every request it sends is held until the link heals, then dropped
/// or delivered; a write is still checked by the lease oracle as it is issued, not as it lands.
/// Outside the partition it is a plain `ProcessBoundReplicaClient`.
///
/// A subclass, not a branch in `ProcessBoundReplicaClient.alive`: a second await site there
/// changed how many executor hops an error path takes in release builds, and with it the trace
/// digest of every seed whose snapshot upload failed, although no seed without a takeover has a
/// partition.
// @unchecked: a ProcessBoundReplicaClient, touched only on the simulator's one thread.
final class PartitionedReplicaClient: ProcessBoundReplicaClient, @unchecked Sendable {
    let partition: NetworkPartition

    init(clients: ReplicatorClients, process: String, leaseOracle: LeaseOracle?, partition: NetworkPartition) {
        self.partition = partition
        super.init(clients: clients, process: process, leaseOracle: leaseOracle)
    }

    /// Holds a request until the link heals and carries out its fate.
    private func held<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        let isWrite = operation == "PUT" || operation == "DELETE"
        return try await alive {
            let timedOut = SimObjectStoreError.unavailable(
                operation: operation, key: location, status: 0,
                reason: "timed out: network partition")
            switch try await partition.hold(isWrite: isWrite) {
            case .dropped:
                throw timedOut
            case .delivered:
                return try await body()
            case .deliveredResponseLost:
                _ = try await body()
                throw timedOut
            }
        }
    }

    override func generations() async throws -> [Generation] {
        guard partition.isActive else { return try await super.generations() }
        return try await held("LIST") { try await base.generations() }
    }

    override func snapshots(in generation: Generation) async throws -> [SnapshotInfo] {
        guard partition.isActive else { return try await super.snapshots(in: generation) }
        return try await held("LIST") { try await base.snapshots(in: generation) }
    }

    override func walSegments(in generation: Generation) async throws -> [WALSegmentInfo] {
        guard partition.isActive else { return try await super.walSegments(in: generation) }
        return try await held("LIST") { try await base.walSegments(in: generation) }
    }

    @discardableResult
    override func writeSnapshot(generation: Generation, index: UInt64, data: any ByteSource) async throws
        -> SnapshotInfo
    {
        guard partition.isActive else {
            return try await super.writeSnapshot(generation: generation, index: index, data: data)
        }
        admit { "PUT snapshot \(generation)/\(Hex.format(index, width: 16))" }
        return try await held("PUT") { try await base.writeSnapshot(generation: generation, index: index, data: data) }
    }

    @discardableResult
    override func writeWALSegment(at position: Position, data: any ByteSource) async throws -> WALSegmentInfo {
        guard partition.isActive else { return try await super.writeWALSegment(at: position, data: data) }
        admit { "PUT WAL segment \(position)" }
        return try await held("PUT") { try await base.writeWALSegment(at: position, data: data) }
    }

    override func openSnapshot(generation: Generation, index: UInt64) async throws -> any ByteSource {
        guard partition.isActive else { return try await super.openSnapshot(generation: generation, index: index) }
        return try await held("GET") { try await base.openSnapshot(generation: generation, index: index) }
    }

    override func openWALSegment(at position: Position) async throws -> any ByteSource {
        guard partition.isActive else { return try await super.openWALSegment(at: position) }
        return try await held("GET") { try await base.openWALSegment(at: position) }
    }

    override func deleteSnapshot(generation: Generation, index: UInt64) async throws {
        guard partition.isActive else { return try await super.deleteSnapshot(generation: generation, index: index) }
        admit { "DELETE snapshot \(generation)/\(Hex.format(index, width: 16))" }
        try await held("DELETE") { try await base.deleteSnapshot(generation: generation, index: index) }
    }

    override func deleteWALSegments(_ positions: [Position]) async throws {
        guard partition.isActive else { return try await super.deleteWALSegments(positions) }
        admit { "DELETE \(positions.count) WAL segments" }
        try await held("DELETE") { try await base.deleteWALSegments(positions) }
    }

    override func deleteGeneration(_ generation: Generation) async throws {
        guard partition.isActive else { return try await super.deleteGeneration(generation) }
        admit { "DELETE generation \(generation)" }
        try await held("DELETE") { try await base.deleteGeneration(generation) }
    }

    override func acquireLease(owner: String, token: String, duration: Duration, now: Timestamp, supersedes: String?)
        async throws -> Lease
    {
        guard partition.isActive else {
            return try await super.acquireLease(
                owner: owner, token: token, duration: duration, now: now, supersedes: supersedes)
        }
        let lease = try await held("ACQUIRE lease") {
            try await base.acquireLease(
                owner: owner, token: token, duration: duration, now: now, supersedes: supersedes)
        }
        noteLease(lease)
        return lease
    }

    override func renewLease(_ lease: Lease, duration: Duration, now: Timestamp) async throws -> Lease {
        guard partition.isActive else { return try await super.renewLease(lease, duration: duration, now: now) }
        return try await held("RENEW lease") { try await base.renewLease(lease, duration: duration, now: now) }
    }

    override func releaseLease(_ lease: Lease) async throws {
        guard partition.isActive else { return try await super.releaseLease(lease) }
        try await held("RELEASE lease") { try await base.releaseLease(lease) }
    }
}
