import Core
import SimHarness
import Testing

/// Regression (found by `sluice sim`, default seed 472, seventh session, by recording the
/// largest WAL of every seed): a snapshot pinned the database (no replicator checkpoint, the
/// emergency TRUNCATE included) from the moment it began until its upload finished, and before
/// the snapshot object it uploads the WAL the file may contain. After a power loss the replica
/// was 21 MB behind in 64 KiB segments against a store failing 3% of requests; a snapshot came
/// due, and for the two minutes the catch-up took no checkpoint ran: the WAL grew to 93 MB. Any
/// stalled snapshot upload did the same for the length of the stall.
///
/// Now the pin covers only a local, compressed copy of the file; the WAL and the snapshot are
/// uploaded after it is released.
@Suite("Regression: a snapshot waiting on a lagging replica does not pin the WAL", .serialized)
struct RegressionSnapshotDoesNotPinWALTests {
    @Test(
        "a replica that uploads slower than the app writes, with snapshots due every 10 s, leaves checkpoints running")
    func laggingReplicaLeavesCheckpointsRunning() async throws {
        try await runScenario(seed: 472) { world in
            let app = world.app
            try await app.create()
            try await app.commit(inserts: 2)

            var options = ScenarioWorld.options()
            options.snapshotInterval = .seconds(10)
            options.maxSegmentSize = 64 << 10
            options.checkpoint = CheckpointPolicy(minimumPages: 200, idleInterval: .seconds(10), truncatePages: 2000)
            // The store takes a second per WAL segment until `slow` is cleared: 64 KiB a second,
            // less than the app writes.
            let client = InterceptingReplicaClient(base: world.client)
            var slow = true
            client.beforeWALWrite = { _ in if slow { try await world.sleep(.seconds(1)) } }
            let process = try world.startReplicator("replicator", options: options, client: client)

            // About 90 KB a second for a minute; the WAL's size is read after every commit.
            let walPath = ScenarioWorld.databasePath + "-wal"
            var largestWAL: Int64 = 0
            for _ in 0..<600 {
                try await app.commit(inserts: 4, size: 2000)
                try await world.sleep(.milliseconds(100))
                largestWAL = max(largestWAL, try await app.node.fileSystem.stat(walPath)?.size ?? 0)
            }
            // The replica fell behind by more than half of what was written.
            let behind = try await world.client.walSegments(in: try #require(try await world.client.generations().last))
            #expect(behind.count < 100, "the slow store took \(behind.count) segments in 60 s")
            // Checkpoints every 200 pages keep the WAL near 1 MB; pinned, it held the whole minute (about 7 MB).
            #expect(largestWAL < 3 << 20, "the WAL grew to \(largestWAL) bytes: checkpoints waited for the replica")

            // Once the store is fast again the replica catches up and restores the last commit.
            slow = false
            try await world.sleep(.seconds(60))
            #expect(try await world.restore(.latest).commit == app.lastCommit)
            if case .failure(let error) = await process.stop() { throw ScenarioFailure("replicator failed: \(error)") }
        }
    }
}
