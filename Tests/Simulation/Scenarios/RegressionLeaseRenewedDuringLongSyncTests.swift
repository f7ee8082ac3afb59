import Core
import SimHarness
import Testing

/// Regression (found reading `sluice sim` default seed 64, eighth session): a replicator renewed
/// its lease on the replica location only between syncs. A sync with a long backlog on a slow
/// store (there, a 30 s stall) outlasted the lease, and the replicator went on uploading without
/// one: another replicator could have taken the location over meanwhile and interleaved its
/// history (scenario 5's hazard). The lease is now renewed between the segments of a sync. It
/// also ran out between syncs further apart than two thirds of it (a long `--sync-interval`, or a
/// backoff after store errors), when a healthy replicator was presumed dead; it is now renewed
/// while the replicator waits.
@Suite(
    "Regression: the lease is renewed during a sync that outlasts it, and between syncs further apart than it lasts",
    .serialized)
struct RegressionLeaseRenewedDuringLongSyncTests {
    @Test("a 50 s sync of 2 s uploads keeps its 30 s lease: a replicator on another machine is refused throughout")
    func leaseHeldThroughLongSync() async throws {
        try await runScenario(seed: 64) { world in
            let app = world.app
            try await app.create()
            try await app.commit(inserts: 2)

            let client = LeasingInterceptingReplicaClient(base: world.client)
            var slow = false
            client.beforeWALWrite = { _ in if slow { try await world.sleep(.seconds(2)) } }
            var options = ScenarioWorld.options(owner: "host-a:100")
            options.syncInterval = .seconds(25)
            options.leaseDuration = .seconds(30)
            let first = try world.startReplicator("replicator-a", options: options, client: client)
            try await world.sleep(.seconds(2))

            // 25 s of commits before the next sync, one WAL index each second: a backlog of about
            // 25 uploads of 2 s each.
            slow = true
            let otherDisk = SimDisk(wallClock: { [wallClock = world.wallClock] in wallClock.now() })
            let otherApp = ScenarioApp(
                node: try world.startNode("app-c", disk: otherDisk), path: "/other.db", scheduler: world.scheduler)
            try await otherApp.create()
            var other: ReplicatorProcess?
            for step in 0..<240 {
                try await app.commit(inserts: 2)
                try await world.sleep(.milliseconds(250))
                // 30 s into the sync, past the lease it renewed as the sync began.
                if step == 220 {
                    other = try world.startReplicator(
                        "replicator-c", options: ScenarioWorld.options(owner: "host-c:300"),
                        disk: otherDisk, databasePath: "/other.db")
                }
            }
            try await expectLeaseRefused(
                try #require(other), holder: "host-a:100", within: .seconds(15), world: world,
                ifTakenOver: "the first let its lease run out mid-sync")
            await otherApp.close()
            slow = false
            try await world.sleep(.seconds(60))
            #expect(try await world.restore().commit == app.lastCommit)
            if case .failure(let error) = await first.stop() {
                throw ScenarioFailure("first replicator failed: \(error)")
            }
        }
    }
}

extension RegressionLeaseRenewedDuringLongSyncTests {
    @Test("with a 40 s sync interval and a 30 s lease, the lease is renewed while the replicator waits")
    func leaseHeldBetweenSyncs() async throws {
        try await runScenario(seed: 65) { world in
            let app = world.app
            try await app.create()
            try await app.commit(inserts: 2)
            var options = ScenarioWorld.options(owner: "host-a:100")
            options.syncInterval = .seconds(40)
            options.leaseDuration = .seconds(30)
            let first = try world.startReplicator("replicator-a", options: options)
            // The first sync runs at once; the next is 40 s later. Renewed only before each sync,
            // the lease lapsed 30 s in.
            try await world.sleep(.seconds(35))
            let otherDisk = SimDisk(wallClock: { [wallClock = world.wallClock] in wallClock.now() })
            let otherApp = ScenarioApp(
                node: try world.startNode("app-c", disk: otherDisk), path: "/other.db", scheduler: world.scheduler)
            try await otherApp.create()
            let other = try world.startReplicator(
                "replicator-c", options: ScenarioWorld.options(owner: "host-c:300"),
                disk: otherDisk, databasePath: "/other.db")
            try await expectLeaseRefused(
                other, holder: "host-a:100", within: .seconds(4), world: world,
                ifTakenOver: "the first let its lease run out between syncs")
            await otherApp.close()
            try await app.commit(inserts: 1)
            try await world.sleep(.seconds(45))
            #expect(try await world.restore().commit == app.lastCommit)
            if case .failure(let error) = await first.stop() {
                throw ScenarioFailure("first replicator failed: \(error)")
            }
        }
    }
}
