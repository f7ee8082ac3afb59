import Core
import SimHarness
import Testing

/// Regression (found reading `sluice sim` default seed 37, fifth session): with a few per cent of
/// store errors, every sync attempt that had a backlog of several WAL indexes to upload got part
/// of the way and then met an error. Each such attempt counted as one more failure in a row, so
/// the retry delay grew to its one-minute cap although every attempt moved the replica forward;
/// the replica fell a minute or more behind and no scheduled snapshot was taken in the whole run.
/// Here a store outage leaves a backlog, then every third WAL upload fails: the replica must
/// catch up at the sync interval's pace, not at one attempt a minute.
@Suite("Regression: a sync that fails part-way after progress does not back off", .serialized)
struct RegressionBackoffAfterProgressTests {
    @Test("after an outage, a store that fails every third upload still lets the replica catch up within seconds")
    func catchesUpThroughIntermittentErrors() async throws {
        try await runScenario(seed: 37) { world in
            let app = world.app
            try await app.create()
            try await app.commit(inserts: 2)

            let client = InterceptingReplicaClient(base: world.client)
            var outage = false
            var failsEveryThird = false
            var writes = 0
            var failedWrites = 0
            client.beforeWALWrite = { position in
                writes += 1
                if failsEveryThird, writes % 3 == 0 { failedWrites += 1 } else if !outage { return }
                throw InterceptingReplicaClient.refusal("wal \(position)")
            }
            let process = try world.startReplicator("replicator", client: client)
            try await world.sleep(.seconds(3))

            // An outage while the app writes: with checkpoints every 8 pages, the backlog spans
            // many WAL indexes, one upload each.
            outage = true
            try await world.commitSteadily(40, every: .milliseconds(500))
            let backlogStart = try await world.client.walSegments(
                in: try #require(try await world.client.generations().last)
            ).count

            outage = false
            failsEveryThird = true
            try await world.sleep(.seconds(45))
            let generation = try #require(try await world.client.generations().last)
            let segments = try await world.client.walSegments(in: generation)
            #expect(failedWrites > 2, "the store should have failed some uploads after the outage")
            #expect(segments.count > backlogStart + 10, "the backlog should have spanned many WAL indexes")
            // 45 s after the outage, at most one minute-long backoff would have let a handful of
            // attempts through, each uploading two segments.
            let state = try await world.restore(.latest)
            #expect(
                state.commit == app.lastCommit,
                "45 s after the outage the replica restores commit \(state.commit) of \(app.lastCommit)")
            _ = await process.stop()
        }
    }

    @Test("a scheduled snapshot that keeps failing while the app commits still backs off")
    func failingSnapshotBacksOff() async throws {
        try await runScenario(seed: 38) { world in
            let app = world.app
            try await app.create()
            try await app.commit(inserts: 2)

            // The generation's first snapshot lands; every later one is refused.
            let client = InterceptingReplicaClient(base: world.client)
            var snapshots = 0
            var refusing = true
            client.beforeSnapshotWrite = { generation, index in
                snapshots += 1
                if snapshots > 1, refusing {
                    throw InterceptingReplicaClient.refusal("snapshot \(generation)/\(index)")
                }
            }
            var options = ScenarioWorld.options()
            options.snapshotInterval = .seconds(5)
            let process = try world.startReplicator("replicator", options: options, client: client)
            // Every attempt uploads the app's newest commits before its snapshot fails: that
            // upload must not count as progress that resets the backoff.
            try await world.commitSteadily(120, every: .milliseconds(500), inserts: 1)
            let refused = snapshots - 1
            #expect(refused > 2, "the scheduled snapshots should have been tried: \(refused)")
            // Backing off (1, 2, 4, ... up to 60 s) allows about eight attempts in a minute; one
            // per sync interval would be about fifty-five.
            #expect(refused < 15, "a failing snapshot was retried \(refused) times in 60 s")
            // Once the store takes snapshots again, the replica catches up within one backoff.
            refusing = false
            try await world.sleep(.seconds(70))
            #expect(try await world.restore(.latest).commit == app.lastCommit)
            _ = await process.stop()
        }
    }

    /// The generation's first snapshot is taken while the position is derived, inside the sync,
    /// after the WAL it needs went up. Counting every failed sync as an upload cut short (a
    /// first version of the ninth session's backoff change, caught in review) retried it at
    /// every sync interval, each time listing the generation and staging the whole database.
    @Test("a generation's first snapshot that keeps failing while the app commits still backs off")
    func failingFirstSnapshotBacksOff() async throws {
        try await runScenario(seed: 39) { world in
            let app = world.app
            try await app.create()
            try await app.commit(inserts: 2)

            let client = InterceptingReplicaClient(base: world.client)
            var attempts = 0
            var refusing = true
            client.beforeSnapshotWrite = { generation, index in
                attempts += 1
                if refusing { throw InterceptingReplicaClient.refusal("snapshot \(generation)/\(index)") }
            }
            let process = try world.startReplicator("replicator", client: client)
            try await world.commitSteadily(120, every: .milliseconds(500), inserts: 1)
            #expect(attempts > 2, "the first snapshot should have been tried: \(attempts)")
            #expect(attempts < 15, "a failing first snapshot was tried \(attempts) times in 60 s")
            refusing = false
            try await world.sleep(.seconds(70))
            #expect(try await world.restore(.latest).commit == app.lastCommit)
            _ = await process.stop()
        }
    }
}
