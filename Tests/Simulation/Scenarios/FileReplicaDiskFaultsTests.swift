import Core
import SimHarness
import Testing

/// The real `FileReplicaClient` on a replica machine whose disk fails calls at random (transient
/// EIO on every kind of call, 5%): the replicator retries what failed, the lease holds, restores
/// read through the same faulty disk, and once the faults stop the replica restores the source's
/// last commit exactly. (A write whose temp-file removal fails too leaves its `*.tmp` behind;
/// nothing sweeps them, and readers skip them.)
@Suite("Folder replica on a failing disk", .serialized)
struct FileReplicaDiskFaultsTests {
    @Test("transient I/O errors on the replica's disk: replication catches up, the replica restores exactly")
    func transientErrors() async throws {
        for seed: UInt64 in [1, 2, 3] {
            try await runScenario(seed: seed) { world in
                let host = SimReplicaHost(disk: SimDisk(wallClock: { world.wallClock.now() }))
                let client = host.client()
                try await world.app.create()
                let rates = Dictionary(uniqueKeysWithValues: DiskOperationKind.allCases.map { ($0, 0.05) })
                host.disk.faults = DiskFaults(transientErrorRate: rates)
                let replicator = try world.startReplicator("replicator", client: client, logLevel: .critical)
                try await world.commitSteadily(200, every: .milliseconds(100), inserts: 2)
                host.disk.faults = .none
                try await world.sleep(.seconds(70))
                if case .failure(let error) = await replicator.stop() {
                    throw ScenarioFailure("seed \(seed): replicator failed: \(error)")
                }
                let restored = try await world.restore(from: client)
                #expect(
                    restored.commit == world.app.lastCommit,
                    "seed \(seed): restored \(restored), source at \(world.app.lastCommit)")
            }
        }
    }
}
