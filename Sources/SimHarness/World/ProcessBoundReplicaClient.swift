import Core
import Glibc

/// A replica client as one replicator process sees it: once the process is killed, every call
/// fails, as the sockets of a killed process die with it. A request already on the wire still
/// lands (the store serves it), but its answer reaches nobody. So a killed replicator neither
/// uploads nor releases its lease afterwards, and its successor must wait the lease out.
///
/// The lease oracle checks each write it issues against the store's lease object
/// (`LeaseOracle`); `PartitionedReplicaClient` adds a network partition of its machine.
// @unchecked: touched only on the simulator's one thread.
class ProcessBoundReplicaClient: ReplicaClient, ReplicaLeasing, @unchecked Sendable {
    let base: any ReplicaClient & ReplicaLeasing
    /// Names the process in the oracle's reports.
    let process: String
    let leaseOracle: LeaseOracle?
    /// Told of each lease this process takes (the takeover's clock starts there).
    var onLeaseTaken: ((Lease) -> Void)?
    let liveness = ProcessLiveness()
    var isKilled: Bool { liveness.isKilled }
    /// The token of the last lease this process took.
    private(set) var leaseToken: String?

    init(clients: ReplicatorClients, process: String = "replicator", leaseOracle: LeaseOracle? = nil) {
        self.base = clients.client(for: liveness)
        self.process = process
        self.leaseOracle = leaseOracle
    }

    convenience init(base: SimReplicaClient, process: String = "replicator", leaseOracle: LeaseOracle? = nil) {
        self.init(clients: ReplicatorClients(simulated: base), process: process, leaseOracle: leaseOracle)
    }

    /// Kills the process's connections. Only on the simulator thread.
    func kill() { liveness.isKilled = true }

    var kind: String { base.kind }
    var location: String { base.location }

    /// Runs one request of this process: it fails once the process is killed.
    final func alive<T>(_ body: () async throws -> T) async throws -> T {
        guard !isKilled else { throw ReplicaClientError.unavailable(replica: location, reason: "process killed") }
        let result = try await body()
        guard !isKilled else { throw ReplicaClientError.unavailable(replica: location, reason: "process killed") }
        return result
    }

    /// Has the lease oracle check a write this process is about to issue.
    final func admit(_ operation: () -> String) {
        guard !isKilled, let leaseOracle else { return }
        leaseOracle.admit(operation(), process: process, token: leaseToken)
    }

    func generations() async throws -> [Generation] { try await alive { try await base.generations() } }
    func snapshots(in generation: Generation) async throws -> [SnapshotInfo] {
        try await alive { try await base.snapshots(in: generation) }
    }
    func walSegments(in generation: Generation) async throws -> [WALSegmentInfo] {
        try await alive { try await base.walSegments(in: generation) }
    }

    @discardableResult
    func writeSnapshot(generation: Generation, index: UInt64, data: any ByteSource) async throws -> SnapshotInfo {
        admit { "PUT snapshot \(generation)/\(Hex.format(index, width: 16))" }
        return try await alive {
            try await base.writeSnapshot(generation: generation, index: index, data: data)
        }
    }

    @discardableResult
    func writeWALSegment(at position: Position, data: any ByteSource) async throws -> WALSegmentInfo {
        admit { "PUT WAL segment \(position)" }
        return try await alive { try await base.writeWALSegment(at: position, data: data) }
    }

    func openSnapshot(generation: Generation, index: UInt64) async throws -> any ByteSource {
        try await alive { try await base.openSnapshot(generation: generation, index: index) }
    }

    func openWALSegment(at position: Position) async throws -> any ByteSource {
        try await alive { try await base.openWALSegment(at: position) }
    }

    func deleteSnapshot(generation: Generation, index: UInt64) async throws {
        admit { "DELETE snapshot \(generation)/\(Hex.format(index, width: 16))" }
        return try await alive {
            try await base.deleteSnapshot(generation: generation, index: index)
        }
    }

    func deleteWALSegments(_ positions: [Position]) async throws {
        admit { "DELETE \(positions.count) WAL segments" }
        return try await alive { try await base.deleteWALSegments(positions) }
    }

    func deleteGeneration(_ generation: Generation) async throws {
        admit { "DELETE generation \(generation)" }
        return try await alive { try await base.deleteGeneration(generation) }
    }

    func acquireLease(owner: String, token: String, duration: Duration, now: Timestamp, supersedes: String?)
        async throws -> Lease
    {
        let lease = try await alive {
            try await base.acquireLease(
                owner: owner, token: token, duration: duration, now: now, supersedes: supersedes)
        }
        noteLease(lease)
        return lease
    }

    func renewLease(_ lease: Lease, duration: Duration, now: Timestamp) async throws -> Lease {
        try await alive { try await base.renewLease(lease, duration: duration, now: now) }
    }

    /// Remembers a lease this process took.
    final func noteLease(_ lease: Lease) {
        leaseToken = lease.token
        onLeaseTaken?(lease)
    }

    func releaseLease(_ lease: Lease) async throws { try await alive { try await base.releaseLease(lease) } }
}

/// The replicator's view of its machine's file system with the seed's disk faults on its own
/// calls only (the app shares the disk but not these faults): transient EIO at a rate, and
/// windows during which writes, truncates that grow and creations fail with ENOSPC.
struct FaultyFileSystem: FileSystem {
    let base: any FileSystem
    let faults: FileFaultSwitch

    func open(_ path: String, mode: FileOpenMode) async throws -> any FileHandle {
        try faults.check("open", path, grows: mode == .createNew || mode == .truncate || mode == .create)
        return FaultyFileHandle(base: try await base.open(path, mode: mode), faults: faults)
    }

    func stat(_ path: String) async throws -> FileStat? {
        try faults.check("stat", path, grows: false)
        return try await base.stat(path)
    }

    func remove(_ path: String) async throws {
        try faults.check("unlink", path, grows: false)
        try await base.remove(path)
    }

    func removeTree(_ path: String) async throws {
        try faults.check("remove", path, grows: false)
        try await base.removeTree(path)
    }

    func rename(_ source: String, to target: String) async throws {
        try faults.check("rename", target, grows: false)
        try await base.rename(source, to: target)
    }

    func createDirectory(_ path: String) async throws {
        try faults.check("mkdir", path, grows: true)
        try await base.createDirectory(path)
    }

    func list(_ path: String) async throws -> [String] {
        try faults.check("list", path, grows: false)
        return try await base.list(path)
    }

    func syncDirectory(_ path: String) async throws {
        try faults.check("fsync", path, grows: false)
        try await base.syncDirectory(path)
    }
}

/// The switchboard `FaultyFileSystem` consults: a seeded EIO rate and an ENOSPC flag the world
/// turns on and off. Only touched on the simulator thread.
// @unchecked: touched only on the simulator's one thread.
final class FileFaultSwitch: @unchecked Sendable {
    var errorRate: Double
    var noSpace = false
    /// Single faults a scenario places on purpose: the next call of `operation` on a path ending
    /// in `pathSuffix` fails with EIO, once each, in order of the list.
    var failOnce: [(operation: String, pathSuffix: String)] = []
    /// When set, only these operations ("stat", "read", ...) draw errors at `errorRate`.
    var onlyOperations: Set<String>?
    private var random: SplitMix64
    private(set) var injected = 0

    init(errorRate: Double, random: SplitMix64) {
        self.errorRate = errorRate
        self.random = random
    }

    func check(_ operation: String, _ path: String, grows: Bool) throws {
        if let planned = failOnce.firstIndex(where: { $0.operation == operation && path.hasSuffix($0.pathSuffix) }) {
            failOnce.remove(at: planned)
            injected += 1
            throw FileSystemError.io(operation: operation, path: path, code: EIO, message: "injected I/O error")
        }
        if grows && noSpace {
            injected += 1
            throw FileSystemError.noSpace(path: path)
        }
        if errorRate > 0, onlyOperations?.contains(operation) ?? true,
            Double(random.next() >> 11) * 0x1.0p-53 < errorRate
        {
            injected += 1
            throw FileSystemError.io(operation: operation, path: path, code: EIO, message: "injected I/O error")
        }
    }
}

final class FaultyFileHandle: FileHandle, Sendable {
    let base: any FileHandle
    let faults: FileFaultSwitch

    init(base: any FileHandle, faults: FileFaultSwitch) {
        self.base = base
        self.faults = faults
    }

    var path: String { base.path }

    func read(at offset: Int64, count: Int) async throws -> [UInt8] {
        try faults.check("read", path, grows: false)
        return try await base.read(at: offset, count: count)
    }

    func write(_ bytes: [UInt8], at offset: Int64) async throws {
        try faults.check("write", path, grows: true)
        try await base.write(bytes, at: offset)
    }

    func size() async throws -> Int64 {
        try faults.check("fstat", path, grows: false)
        return try await base.size()
    }

    func truncate(to size: Int64) async throws {
        try faults.check("truncate", path, grows: false)
        try await base.truncate(to: size)
    }

    func sync() async throws {
        try faults.check("fsync", path, grows: false)
        try await base.sync()
    }

    /// close never fails: a failed close would leave a descriptor (and, for the database file,
    /// POSIX locks) in a state no real kernel produces.
    func close() async throws {
        try await base.close()
    }
}
