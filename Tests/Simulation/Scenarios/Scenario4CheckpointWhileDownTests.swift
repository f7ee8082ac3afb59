import Core
import SimHarness
import Testing

/// Scenario 4 (Litestream e92db9e, `verifyHeadersMatch`): the app checkpoints and restarts the WAL
/// while the replicator is down. Commits made while it was down sit in the WAL only until the
/// app's TRUNCATE checkpoint moves them into the database file and empties the WAL; no shadow
/// ever saw them. A replicator that restarts and trusts its shadow position would follow the
/// "restarted" WAL as the next index of the old generation and lose those commits for good.
/// The engine must start a new generation (with a snapshot that contains them) and the replica
/// must restore exactly.
///
/// Two rounds: the replicator comes back (1) to an empty WAL, the app writing only afterwards,
/// and (2) after the app already wrote into the fresh WAL.
@Suite("Scenario 4: checkpoint while the replicator is down", .serialized)
struct Scenario4CheckpointWhileDownTests {
    @Test(
        "Scenario 4: a TRUNCATE checkpoint and new writes while the replicator is killed start a new generation; restore is exact"
    )
    func scenario4CheckpointWhileDown() async throws {
        try await runScenario(seed: 4) { world in
            let app = world.app
            try await app.create()
            var replicator = try world.startReplicator("replicator-1")
            try await world.commitSteadily(12, every: .milliseconds(400), inserts: 2)
            try await world.sleep(.seconds(3))
            #expect(try await world.restore().commit == app.lastCommit)

            for round in 1...2 {
                let before = try await world.client.generations()
                await replicator.kill()
                // Down: commits into the WAL nobody copies, then the app's own TRUNCATE checkpoint,
                // which succeeds now that no read lock pins the WAL.
                let lastReplicated = app.lastCommit
                for _ in 0..<3 { try await app.commit(inserts: 2) }
                let result = try #require(
                    try await app.checkpoint(.truncate), "TRUNCATE was busy with the replicator dead")
                #expect(!result.busy)
                #expect(try world.disk.size(of: ScenarioWorld.databasePath + "-wal") == 0)
                if round == 2 {
                    for _ in 0..<4 { try await app.commit(inserts: 1) }
                }

                replicator = try world.startReplicator("replicator-\(round + 1)")
                try await world.sleep(.seconds(3))
                try await world.commitSteadily(5, every: .milliseconds(400), inserts: 1)
                try await world.sleep(.seconds(3))

                let after = try await world.client.generations()
                #expect(
                    after.count == before.count + 1,
                    "round \(round): no new generation after the WAL was checkpointed while down")
                #expect(after.last! > before.last!, "round \(round): the new generation must sort after the old one")
                let restored = try await world.restore()
                #expect(
                    restored.commit == app.lastCommit,
                    "round \(round): restore holds \(restored), the source is at \(app.lastCommit)")
                // The old generation still restores to a commit boundary, at least what was
                // replicated before the kill.
                let old = try await world.restore(generation: before.last!)
                #expect(old.commit >= lastReplicated)
            }
            if case .failure(let error) = await replicator.stop() {
                throw ScenarioFailure("replicator failed: \(error)")
            }
            #expect(try await world.restore().commit == app.lastCommit)
            _ = try await app.currentState()
        }
    }
}

extension SimDisk {
    /// The live size of the file at `path`, or nil if it does not exist.
    func size(of path: String) throws -> Int64? {
        let process = startProcess(named: "stat")
        defer { kill(process) }
        guard let descriptor = try? open(path, mode: .readOnly, by: process) else { return nil }
        defer { try? close(descriptor) }
        return try size(descriptor)
    }
}
