import Core
import SimHarness
import Testing

/// Scenario 6 (Litestream #224, #805): the first segment of a WAL index is gone from the replica
/// (a lifecycle rule, a concurrent deletion, a bucket copy that missed one object). Without its
/// offset-0 segment the index has no WAL header, so nothing after the snapshot can be replayed
/// through it. Restore must refuse with the error that names the missing segment, before it
/// downloads anything, and leave no output; it must never produce a silently short database.
/// Targets before the damaged index still restore exactly.
@Suite("Scenario 6: missing initial WAL segment", .serialized)
struct Scenario6MissingInitialSegmentTests {
    @Test(
        "Scenario 6: restore across an index without its first segment fails with missingInitialSegment and writes nothing"
    )
    func scenario6MissingInitialSegment() async throws {
        try await runScenario(seed: 6) { world in
            let app = world.app
            try await app.create()
            // Indexes of about 40 frames span several one-second syncs, so each has several segments.
            var options = ScenarioWorld.options()
            options.checkpoint.minimumPages = 40
            let replicator = try world.startReplicator("replicator", options: options)
            try await world.commitSteadily(40, every: .milliseconds(300), inserts: 2, size: 600)
            try await world.sleep(.seconds(5))
            if case .failure(let error) = await replicator.stop() {
                throw ScenarioFailure("replicator failed: \(error)")
            }

            // Undamaged, the replica restores the source's last commit exactly.
            let generations = try await world.client.generations()
            try #require(generations.count == 1)
            let generation = generations[0]
            let latest = try await world.restore()
            #expect(latest.commit == app.lastCommit)

            // The damaged index: the first after the snapshot's with more than one segment, so the
            // later segments of it survive the deletion and the planner sees an index that
            // starts past its header.
            let snapshots = try await world.client.snapshots(in: generation)
            let segments = try await world.client.walSegments(in: generation)
            let snapshotIndex = try #require(snapshots.map(\.index).max())
            let counts = Dictionary(grouping: segments, by: \.index).mapValues(\.count)
            let damaged = try #require(
                counts.keys.sorted().first { $0 > snapshotIndex && counts[$0]! >= 2 },
                "no index after the snapshot has two segments: \(counts)")
            try #require(segments.map(\.index).max()! > damaged, "the damaged index must not be the last")
            let before = try await world.restore(.index(damaged - 1), generation: generation)
            #expect(before.commit > 0 && before.commit < app.lastCommit)
            let secondOffset = segments.filter { $0.index == damaged }.map(\.offset).sorted()[1]
            let uploadTime = try #require(
                segments.first { $0.index == damaged && $0.offset == secondOffset }?.createdAt)

            try await world.client.deleteWALSegments([Position(generation: generation, index: damaged, offset: 0)])
            let expected = RestoreError.missingInitialSegment(
                generation: generation, index: damaged, firstOffset: secondOffset)

            // Planning alone already refuses: nothing is downloaded for a plan that cannot work.
            let restorer = Restorer(client: world.client, environment: world.restoreNode.environment)
            await #expect(throws: expected) {
                _ = try await restorer.plan(RestoreRequest(outputPath: "/restore/plan.db"))
            }
            // Every target that needs the damaged index fails the same way, with nothing left behind.
            for target in [RestoreTarget.latest, .timestamp(uploadTime), .index(damaged)] {
                let generationArgument: Generation? = target.requiresGeneration ? generation : nil
                await #expect(throws: expected, "restore to \(target)") {
                    _ = try await world.restore(target, generation: generationArgument)
                }
                #expect(try await world.restoreLeftovers().isEmpty, "restore to \(target) left files behind")
            }
            // A target before the damage still restores exactly what it did before.
            #expect(try await world.restore(.index(damaged - 1), generation: generation) == before)

            // The source was never touched.
            #expect(try await app.currentState().commit == app.lastCommit)
        }
    }
}
