import Core
import CoreMetrics

/// Counts a replica client's requests and bytes by operation, the way Litestream's
/// `replica_operation_*` metrics do, for any client: a decorator at the `ReplicaClient` port, so
/// no backend counts for itself. Operations are GET (opening an object), PUT (writing one),
/// LIST (a listing) and DELETE; bytes are what crossed the port (compressed object bytes).
///
/// `metered(_:database:replica:)` keeps the client's lease support: the syncer asks
/// `client is ReplicaLeasing` to learn whether a location leases at all.
public enum MeteredReplicaClient {
    /// `client`, counted under the labels `db`, `replica`, `type` (the client's kind).
    public static func metered(_ client: any ReplicaClient, database: String, replica: String) -> any ReplicaClient {
        let meters = OperationMeters(database: database, replica: replica, type: client.kind)
        if let leasing = client as? any ReplicaClient & ReplicaLeasing {
            return MeteredLeasingClient(leasing: leasing, meters: meters)
        }
        return MeteredClient(inner: client, meters: meters)
    }
}

/// The counters of one replica, one set per operation.
struct OperationMeters: Sendable {
    struct Operation: Sendable {
        var total: Counter
        var bytes: Counter
        var errors: Counter
    }

    let get: Operation
    let put: Operation
    let list: Operation
    let delete: Operation

    init(database: String, replica: String, type: String) {
        func operation(_ name: String) -> Operation {
            let dimensions = [("db", database), ("replica", replica), ("type", type), ("operation", name)]
            return Operation(
                total: Counter(label: "sluice_replica_operation_total", dimensions: dimensions),
                bytes: Counter(label: "sluice_replica_operation_bytes", dimensions: dimensions),
                errors: Counter(label: "sluice_replica_operation_errors_total", dimensions: dimensions))
        }
        get = operation("GET")
        put = operation("PUT")
        list = operation("LIST")
        delete = operation("DELETE")
    }

    /// Runs `body` as one `operation`, counting it and, if it throws, its error.
    func count<T>(_ operation: Operation, _ body: () async throws -> T) async throws -> T {
        operation.total.increment()
        do {
            return try await body()
        } catch {
            operation.errors.increment()
            throw error
        }
    }
}

/// A byte source that adds what passes through it to a counter.
final class CountingSource: ByteSource, Sendable {
    private let inner: any ByteSource
    private let counter: Counter

    init(_ inner: any ByteSource, counter: Counter) {
        self.inner = inner
        self.counter = counter
    }

    func read(upTo maxCount: Int) async throws -> [UInt8] {
        let chunk = try await inner.read(upTo: maxCount)
        if !chunk.isEmpty { counter.increment(by: Int64(chunk.count)) }
        return chunk
    }

    func close() async { await inner.close() }
}

/// The counting itself, shared by the leasing and plain decorators.
protocol MeteredReplica: ReplicaClient {
    var inner: any ReplicaClient { get }
    var meters: OperationMeters { get }
}

extension MeteredReplica {
    var kind: String { inner.kind }
    var location: String { inner.location }

    func generations() async throws -> [Generation] {
        try await meters.count(meters.list) { try await inner.generations() }
    }

    func snapshots(in generation: Generation) async throws -> [SnapshotInfo] {
        try await meters.count(meters.list) { try await inner.snapshots(in: generation) }
    }

    func walSegments(in generation: Generation) async throws -> [WALSegmentInfo] {
        try await meters.count(meters.list) { try await inner.walSegments(in: generation) }
    }

    func writeSnapshot(generation: Generation, index: UInt64, data: any ByteSource) async throws -> SnapshotInfo {
        let counted = CountingSource(data, counter: meters.put.bytes)
        return try await meters.count(meters.put) {
            try await inner.writeSnapshot(generation: generation, index: index, data: counted)
        }
    }

    func writeWALSegment(at position: Position, data: any ByteSource) async throws -> WALSegmentInfo {
        let counted = CountingSource(data, counter: meters.put.bytes)
        return try await meters.count(meters.put) { try await inner.writeWALSegment(at: position, data: counted) }
    }

    func openSnapshot(generation: Generation, index: UInt64) async throws -> any ByteSource {
        let source = try await meters.count(meters.get) {
            try await inner.openSnapshot(generation: generation, index: index)
        }
        return CountingSource(source, counter: meters.get.bytes)
    }

    func openWALSegment(at position: Position) async throws -> any ByteSource {
        let source = try await meters.count(meters.get) { try await inner.openWALSegment(at: position) }
        return CountingSource(source, counter: meters.get.bytes)
    }

    func deleteSnapshot(generation: Generation, index: UInt64) async throws {
        try await meters.count(meters.delete) { try await inner.deleteSnapshot(generation: generation, index: index) }
    }

    func deleteWALSegments(_ positions: [Position]) async throws {
        try await meters.count(meters.delete) { try await inner.deleteWALSegments(positions) }
    }

    func deleteGeneration(_ generation: Generation) async throws {
        try await meters.count(meters.delete) { try await inner.deleteGeneration(generation) }
    }
}

/// A client that does not lease, counted.
struct MeteredClient: MeteredReplica {
    let inner: any ReplicaClient
    let meters: OperationMeters
}

/// A leasing client, counted; lease calls pass through uncounted (their requests are the
/// lease records', not the replica's data).
struct MeteredLeasingClient: MeteredReplica, ReplicaLeasing {
    let leasing: any ReplicaClient & ReplicaLeasing
    let meters: OperationMeters

    var inner: any ReplicaClient { leasing }

    func acquireLease(owner: String, token: String, duration: Duration, now: Timestamp, supersedes: String?)
        async throws -> Lease
    {
        try await leasing.acquireLease(owner: owner, token: token, duration: duration, now: now, supersedes: supersedes)
    }

    func renewLease(_ lease: Lease, duration: Duration, now: Timestamp) async throws -> Lease {
        try await leasing.renewLease(lease, duration: duration, now: now)
    }

    func releaseLease(_ lease: Lease) async throws {
        try await leasing.releaseLease(lease)
    }
}
