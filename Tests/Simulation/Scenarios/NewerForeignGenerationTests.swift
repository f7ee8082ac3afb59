import Core
import SimHarness
import Testing

/// "Latest" is the newest generation name on a replica. A replicator that finds a newer
/// generation there than its own (another replicator held the location while its lease had
/// lapsed) must not go on in its older one, or restores to latest return the other database;
/// it starts a generation of its own named after that one, whatever its clock says.
@Suite("A newer generation of another writer", .serialized)
struct NewerForeignGenerationTests {
    @Test(
        "a replicator that finds another writer's newer generation, even one from a clock far ahead, starts one that sorts after it"
    )
    func startsAfterForeignGeneration() async throws {
        try await runScenario(seed: 91) { world in
            try await world.app.create()
            let first = try world.startReplicator("replicator-1")
            try await world.commitSteadily(20, every: .milliseconds(200))
            if case .failure(let error) = await first.stop() { throw ScenarioFailure("replicator failed: \(error)") }
            let own = try #require(try await world.client.generations().max())

            // Another writer's generation, named as if its clock ran years ahead.
            let foreign = Generation(value: own.value + (1 << 50))
            let snapshot = try #require(try await world.client.snapshots(in: own).first)
            let source = "replica/" + ReplicaLayout.grouped.snapshotKey(own, index: snapshot.index)
            let bytes = try #require(await world.store.peek(source))
            _ = try await world.store.put("replica/" + ReplicaLayout.grouped.snapshotKey(foreign, index: 0), bytes)

            let second = try world.startReplicator("replicator-2")
            try await world.commitSteadily(20, every: .milliseconds(200))
            try await world.sleep(.seconds(3))
            if case .failure(let error) = await second.stop() { throw ScenarioFailure("replicator failed: \(error)") }

            let generations = try await world.client.generations()
            let latest = try #require(generations.max())
            #expect(
                latest > foreign,
                "the replica's latest generation is \(latest), not one after \(foreign): \(generations)")
            #expect(try await world.restore().commit == world.app.lastCommit)
        }
    }
}
