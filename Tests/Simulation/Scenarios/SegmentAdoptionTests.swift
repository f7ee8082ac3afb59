import Core
import SimHarness
import Testing

/// Counts replica attempts that failed; touched on the simulator's thread only.
// @unchecked: touched only on the simulator's one thread.
private final class FailedAttempts: ReplicationEvents, @unchecked Sendable {
    var count = 0
    func replicaSynced(_ report: ReplicaSyncReport) { if report.failed { count += 1 } }
}

/// A WAL segment write to S3 is a create, so a retry after an attempt that landed unseen (its
/// answer lost) finds the key taken. The syncer then takes the segment that is there as
/// uploaded and goes on after it, in the same attempt: no failed attempt, no listing of the whole
/// generation to find its place again, and the replica restores whole.
@Suite("A segment already on the replica is adopted, not rewritten", .serialized)
struct SegmentAdoptionTests {
    @Test("over an S3 endpoint losing one answer in six, refused creates are adopted and the replica restores exactly")
    func lostAnswersAreAdopted() async throws {
        try await runScenario(seed: 374) { world in
            let app = world.app
            try await app.create()
            let endpoint = S3TestFixtures.endpoint(
                world.scheduler, store: world.store, faults: S3EndpointFaults(ambiguousRate: 1.0 / 6))
            let client = endpoint.client(
                prefix: "replica", scheduler: world.scheduler, random: world.scheduler.randomSource("s3"),
                retryPolicy: S3RetryPolicy(maxAttempts: 20))
            let failures = FailedAttempts()
            let process = try world.startReplicator("replicator", client: client, events: failures)
            try await world.commitSteadily(400)
            try await world.sleep(.seconds(10))
            let refused = await endpoint.statistics.refusedCreates
            #expect(refused >= 3, "the endpoint should have refused retried creates: \(refused)")
            #expect(failures.count == 0, "an adopted segment does not fail the attempt")
            #expect(try await world.restore(.latest).commit == app.lastCommit)
            if case .failure(let error) = await process.stop() {
                throw ScenarioFailure("replicator failed: \(error)")
            }
            #expect(try await world.restore(.latest).commit == app.lastCommit)
        }
    }

    @Test(
        "a segment under the next upload's key that is not the local WAL's starts a new generation; the replica restores exactly"
    )
    func foreignSegmentStartsANewGeneration() async throws {
        try await runScenario(seed: 375) { world in
            let app = world.app
            try await app.create()
            let endpoint = S3TestFixtures.endpoint(world.scheduler, store: world.store)
            let client = endpoint.client(
                prefix: "replica", scheduler: world.scheduler, random: world.scheduler.randomSource("s3"))
            // No checkpoints: the next upload continues this WAL index where the replica ends.
            var options = ScenarioWorld.options()
            options.checkpoint = CheckpointPolicy(
                minimumPages: 100_000, idleInterval: .seconds(3600), truncatePages: 200_000)
            let process = try world.startReplicator("replicator", options: options, client: client)
            try await world.commitSteadily(40)
            try await world.sleep(.seconds(5))
            _ = try await world.restore(.latest)
            let end = try #require(world.lastRestoreReport).finalPosition
            // Bytes of no WAL at all where the next upload of this index goes: adopted by length
            // alone, they would replace the next commits' history.
            let foreign = LZ4FrameEncoder.compress([UInt8](repeating: 0xAB, count: 4096))
            try await world.store.put("replica/" + ReplicaLayout.grouped.walSegmentKey(end), foreign)
            let generations = try await world.client.generations().count
            try await world.commitSteadily(40)
            try await world.sleep(.seconds(10))
            #expect(await endpoint.statistics.refusedCreates >= 1)
            #expect(try await world.client.generations().count == generations + 1)
            #expect(try await world.restore(.latest).commit == app.lastCommit)
            if case .failure(let error) = await process.stop() {
                throw ScenarioFailure("replicator failed: \(error)")
            }
        }
    }
}
