import Core
import SimHarness
import Testing

/// Scheduled snapshots of a database nothing has written to since the last one would upload the
/// same file again every interval; the last snapshot, with no WAL after it, restores the same
/// state. The replicator skips them and takes the next one once something was committed.
@Suite("Scheduled snapshots skip an unchanged database", .serialized)
struct IdleDatabaseSnapshotTests {
    @Test("an idle database gets no new scheduled snapshot; the first commit after it brings the next one")
    func idleDatabaseIsNotSnapshottedAgain() async throws {
        try await runScenario(seed: 5) { world in
            let app = world.app
            try await app.create()
            try await app.commit(inserts: 2)
            var options = ScenarioWorld.options()
            options.snapshotInterval = .seconds(5)
            // Snapshots are counted as uploads: one of an unchanged index replaces the object.
            let client = InterceptingReplicaClient(base: world.client)
            var uploads = 0
            client.beforeSnapshotWrite = { _, _ in uploads += 1 }
            let process = try world.startReplicator("replicator", options: options, client: client)
            try await world.sleep(.seconds(3))

            // Writes for a while: snapshots every 5 s.
            try await world.commitSteadily(20, every: .seconds(1), inserts: 1)
            let busy = uploads
            #expect(busy >= 4, "a database written to should be snapshotted every 5 s: \(busy) snapshots")

            // The last commits may be in no snapshot yet. The next due snapshot comes at a new WAL
            // index only (one at the last snapshot's index would replace it): the replicator
            // checkpoints so that the next commit moves the WAL on. Until then the WAL after the
            // last snapshot restores them. After that, a minute idle is twelve intervals with no
            // new snapshot.
            try await world.sleep(.seconds(10))
            let settled = uploads
            #expect(
                settled == busy || settled == busy + 1,
                "the commits after the last snapshot brought \(settled - busy) snapshots")
            #expect(try await world.restore(.latest).commit == app.lastCommit)
            try await world.sleep(.seconds(60))
            let idle = uploads
            #expect(
                idle == settled,
                "an unchanged database was snapshotted again: \(settled) snapshots before the idle minute, \(idle) after"
            )

            // One commit moves the WAL to a new index: the overdue snapshot follows at the next sync.
            try await app.commit()
            try await world.sleep(.seconds(3))
            #expect(
                uploads == idle + 1, "the commit after the idle minute should bring one snapshot: \(uploads - idle)")
            let state = try await world.restore(.latest)
            #expect(state.commit == app.lastCommit)
            _ = await process.stop()
        }
    }

    @Test("a restarted replicator lists its generation's snapshots once and keeps the schedule of the last snapshot")
    func restartListsSnapshotsOnce() async throws {
        try await runScenario(seed: 6) { world in
            let app = world.app
            try await app.create()
            var options = ScenarioWorld.options()
            options.snapshotInterval = .seconds(30)
            let first = try world.startReplicator("replicator-1", options: options)
            try await world.commitSteadily(10, every: .seconds(1), inserts: 1)
            _ = await first.stop()
            let generation = try #require(try await world.client.generations().first)
            let snapshotsBefore = try await world.client.snapshots(in: generation)
            try #require(snapshotsBefore.count == 1)

            // Restarted 12 s after the first snapshot: resuming lists the generation (its
            // segments and snapshots) once, and the next snapshot is due 30 s after the first.
            let client = InterceptingReplicaClient(base: world.client)
            var listings = 0
            var uploads = 0
            client.beforeSnapshotListing = { _ in listings += 1 }
            client.beforeSnapshotWrite = { _, _ in uploads += 1 }
            let second = try world.startReplicator("replicator-2", options: options, client: client)
            try await world.commitSteadily(10, every: .seconds(1), inserts: 1)
            #expect(listings == 1, "the restarted replicator listed the snapshots \(listings) times")
            #expect(uploads == 0, "the last snapshot is 22 s old with a 30 s interval: \(uploads) new snapshots")
            try await world.sleep(.seconds(15))
            #expect(uploads == 1, "the snapshot due 30 s after the last one: \(uploads) new snapshots")
            #expect(try await world.restore(.latest).commit == app.lastCommit)
            _ = await second.stop()
        }
    }
}
