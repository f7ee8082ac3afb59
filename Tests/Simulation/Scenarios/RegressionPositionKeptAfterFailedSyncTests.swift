import Core
import Testing

@testable import SimHarness

/// Regression (found by `sluice sim`, default seeds 66 and 525, ninth session, by the longest
/// gap between snapshots): a sync that failed part-way dropped the replica's cached position,
/// and the next one derived it again from a listing of the whole generation.
///
/// - Seed 66: one failed lease renewal, then listings of 100 indexes in pages of two on a store
///   failing one request in seven. Hardly any got through: no WAL and no snapshot for 290 s.
/// - Seed 525: a local `stat` of the shadow failing one call in twenty. The failed attempt had
///   uploaded WAL, but only a failed *upload* counted as progress, so the backoff grew to a
///   minute between attempts: no snapshot for 300 s.
///
/// A failed request or local I/O error now keeps the position (everything before it went up in
/// writes that succeeded), and any failed WAL stage that moved the replica counts as progress.
@Suite("Regression: a failed sync keeps the replica's position and its pace", .serialized)
struct RegressionPositionKeptAfterFailedSyncTests {
    @Test("when a sync fails mid-backlog and no listing gets through, WAL and snapshots still go up on schedule")
    func noListingNeededAfterFailedSync() async throws {
        try await runScenario(seed: 66) { world in
            let app = world.app
            try await app.create()
            try await app.commit(inserts: 2)

            let client = InterceptingReplicaClient(base: world.client)
            var listings = 0
            var refusedListings = 0
            client.beforeWALListing = { generation in
                listings += 1
                // The start-up listing gets through; every later one fails, as a long listing in
                // small pages does on a flaky store.
                guard listings > 1 else { return }
                refusedListings += 1
                throw SimObjectStoreError.unavailable(
                    operation: "LIST", key: "\(generation)", status: 503, reason: "injected by the test")
            }
            var attempts = 0
            var failedSyncs = 0
            client.beforeWALWrite = { position in
                attempts += 1
                // Every 40th upload starts a run of three refusals: the segment's tries in place
                // are used up and the sync fails.
                let phase = attempts % 40
                if phase == 0 { failedSyncs += 1 }
                guard phase < 3 else { return }
                throw InterceptingReplicaClient.refusal("wal \(position)")
            }
            var options = ScenarioWorld.options()
            options.monitorInterval = .milliseconds(100)
            options.syncInterval = .milliseconds(500)
            options.snapshotInterval = .seconds(10)
            let process = try world.startReplicator("replicator", options: options, client: client)

            try await world.commitSteadily()
            let snapshots = try await world.snapshotCount()
            #expect(failedSyncs > 5, "syncs should have failed mid-backlog: \(failedSyncs)")
            // Before the fix every failed sync was followed by listings that all failed: nothing
            // more went up, and the only snapshot was the first.
            #expect(refusedListings == 0, "\(refusedListings) listings after a failed sync")
            #expect(snapshots >= 5, "\(snapshots) snapshots in 60 s at a 10 s interval")
            let state = try await world.restore(.latest)
            #expect(
                app.lastCommit - state.commit < 40, "the replica restores commit \(state.commit) of \(app.lastCommit)")
            _ = await process.stop()
            #expect(try await world.restore(.latest).commit == app.lastCommit)
        }
    }

    @Test("when a local stat of the shadow fails after WAL went up, the replicator does not back off")
    func noBackoffAfterLocalErrorWithProgress() async throws {
        try await runScenario(seed: 525) { world in
            let app = world.app
            try await app.create()
            try await app.commit(inserts: 2)

            let (faults, process) = try RegressionShadowKeepsUpUnderIOErrorsTests.startReplicator(
                in: world, errorRate: 0.05
            ) {
                // A checkpoint at every tick with 8 pages: each sync uploads several indexes,
                // one `stat` of the shadow each.
                $0.checkpoint = CheckpointPolicy(minimumPages: 8, idleInterval: .seconds(2), truncatePages: nil)
                $0.monitorInterval = .milliseconds(100)
                $0.snapshotInterval = .seconds(10)
            }
            faults.onlyOperations = ["stat"]
            try await world.commitSteadily()
            let snapshots = try await world.snapshotCount()
            #expect(faults.injected > 20, "the replicator's stat calls should have failed often: \(faults.injected)")
            // 60 s at a 10 s interval: about seven. Before the fix the backoff reached a minute.
            #expect(snapshots >= 5, "\(snapshots) snapshots in 60 s at a 10 s interval")
            let state = try await world.restore(.latest)
            #expect(
                app.lastCommit - state.commit < 60, "the replica restores commit \(state.commit) of \(app.lastCommit)")
            faults.errorRate = 0
            _ = await process.stop()
            #expect(try await world.restore(.latest).commit == app.lastCommit)
        }
    }
}
