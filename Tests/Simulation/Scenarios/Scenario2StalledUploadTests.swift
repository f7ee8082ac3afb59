import Core
import SimHarness
import Testing

/// Scenario 2 (Litestream 7f81890, "shadow wal corruption on stalled validation"): the WAL changes
/// between the moment the replicator validated some bytes and the moment it ships them, while an
/// upload stalls. Litestream validated frames in one read of the WAL and copied them in a second
/// read; a stall held the gap open, the WAL was checkpointed and rewritten meanwhile, and the
/// bytes copied were not the bytes validated.
///
/// In Sluice the validated bytes are the shadow WAL (written from the same read that validated
/// them), and the uploader ships shadow bytes only. The scenario holds one WAL segment upload
/// stalled for 30 s while the app keeps committing and checkpointing from its own process and
/// the replicator checkpoints, so the real WAL restarts (and is overwritten from its start)
/// several times behind the stalled upload. When the store answers again, the uploader must
/// ship the rest of the old index exactly as validated: every index restores to a commit
/// boundary and the latest restore is the source's last commit.
@Suite("Scenario 2: WAL rewritten behind a stalled upload", .serialized)
struct Scenario2StalledUploadTests {
    @Test(
        "Scenario 2: WAL restarts behind a 30 s stalled upload; the replica ships only validated bytes and restores exactly"
    )
    func scenario2StalledUpload() async throws {
        try await runScenario(seed: 2) { world in
            let app = world.app
            try await app.create()
            var options = ScenarioWorld.options()
            options.checkpoint.minimumPages = 40 // indexes span several uploads
            let replicator = try world.startReplicator("replicator", options: options)
            try await world.commitSteadily(6, every: .milliseconds(300), inserts: 2)
            try await world.sleep(.seconds(3))

            // The next request stalls for 30 s before it reaches the store; commits keep coming so
            // it is a WAL segment upload.
            let stall: Duration = .seconds(30)
            await world.store.setFaults(ObjectStoreFaults(stallBeforeRate: 1, stallDuration: stall...stall))
            while await world.store.statistics.stalls == 0 {
                try await app.commit(inserts: 1)
                try await world.sleep(.milliseconds(100))
            }
            await world.store.setFaults(.none)
            let stallNoticed = world.wallClock.now()
            let generation = try #require(world.reported.last?.position.generation)
            let indexAtStall = world.reported.last!.position.index

            // Behind the stall: commits, the app's own checkpoints, the replicator's checkpoints and
            // the WAL restarts they allow.
            for step in 0..<90 {
                try await app.commit(inserts: 2)
                if step % 10 == 9 { try await app.checkpoint(.passive) }
                try await world.sleep(.milliseconds(300))
            }
            try await world.commitSteadily(5, every: .milliseconds(300), inserts: 1)
            try await world.sleep(.seconds(10))

            // The premise: after the stall the uploader shipped the tail of an index the WAL had
            // long left behind, together with later indexes.
            let segments = try await world.client.walSegments(in: generation)
            // Nothing else reached the store during the stall, so the first of these is the stalled one.
            let afterStall = segments.filter { $0.createdAt >= stallNoticed }.sorted {
                ($0.index, $0.offset) < ($1.index, $1.offset)
            }
            try #require(afterStall.count >= 3)
            let stalled = afterStall[0]
            #expect(
                afterStall[1].index == stalled.index && afterStall[1].offset > stalled.offset,
                "the stalled index \(stalled.index) should have a tail shipped after the stall: \(afterStall.prefix(3))"
            )
            #expect(Set(afterStall.map(\.index)).count >= 4, "the WAL should have restarted behind the stalled upload")
            #expect(stalled.index == indexAtStall || stalled.index == indexAtStall + 1)

            // Every index end restores to a commit boundary; the latest to the source's last commit.
            var previous = 0
            for index in Set(segments.map(\.index)).sorted() {
                let state = try await world.restore(.index(index), generation: generation)
                #expect(state.commit >= previous, "index \(index) restores \(state), earlier index held \(previous)")
                previous = state.commit
            }
            #expect(try await world.restore().commit == app.lastCommit)
            if case .failure(let error) = await replicator.stop() {
                throw ScenarioFailure("replicator failed: \(error)")
            }
            #expect(try await world.restore().commit == app.lastCommit)
            _ = try await app.currentState()
        }
    }
}
