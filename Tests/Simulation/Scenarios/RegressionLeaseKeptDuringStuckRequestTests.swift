import Core
import SimHarness
import Testing

/// Regression (`sluice sim`, default seed 503): renewals ran only between a replica's steps, so
/// one request held to its two-minute timeout outlived a 30 s lease, and another replicator took
/// the location of a healthy one. A lease keeper now renews beside each attempt, one renewal at
/// a time with the attempt's own.
@Suite("Regression: the lease is renewed while one request of an attempt hangs", .serialized)
struct RegressionLeaseKeptDuringStuckRequestTests {
    @Test("a WAL upload held 120 s keeps its 30 s lease: a replicator on another machine is refused throughout")
    func leaseHeldThroughStuckUpload() async throws {
        try await runScenario(seed: 503) { world in
            let app = world.app
            try await app.create()
            try await app.commit(inserts: 2)
            let client = LeasingInterceptingReplicaClient(base: world.client)
            var stuck = false
            client.beforeWALWrite = { _ in
                if stuck {
                    stuck = false
                    try await world.sleep(.seconds(120))
                }
            }
            var options = ScenarioWorld.options(owner: "host-a:100")
            options.leaseDuration = .seconds(30)
            let first = try world.startReplicator("replicator-a", options: options, client: client)
            try await world.sleep(.seconds(3))

            stuck = true
            try await app.commit(inserts: 1)
            let otherDisk = SimDisk(wallClock: { [wallClock = world.wallClock] in wallClock.now() })
            let otherApp = ScenarioApp(
                node: try world.startNode("app-c", disk: otherDisk), path: "/other.db", scheduler: world.scheduler)
            try await otherApp.create()
            // Every 20 s through the stuck upload, past the 30 s the lease had when it began.
            for _ in 0..<5 {
                try await world.sleep(.seconds(20))
                let other = try world.startReplicator(
                    "replicator-c", options: ScenarioWorld.options(owner: "host-c:300"),
                    disk: otherDisk, databasePath: "/other.db")
                try await expectLeaseRefused(
                    other, holder: "host-a:100", within: .seconds(10), world: world,
                    ifTakenOver: "the lease ran out mid-upload")
            }
            await otherApp.close()
            try await app.commit(inserts: 1)
            try await world.sleep(.seconds(40))
            #expect(try await world.restore().commit == app.lastCommit)
            #expect(client.mostRenewalsInFlight == 1)
            if case .failure(let error) = await first.stop() {
                throw ScenarioFailure("first replicator failed: \(error)")
            }
        }
    }

    @Test("slow renewals are never sent twice at once, so the keeper and an attempt never race each other")
    func oneRenewalAtATime() async throws {
        try await runScenario(seed: 504) { world in
            let app = world.app
            try await app.create()
            let client = LeasingInterceptingReplicaClient(base: world.client)
            // Each renewal takes 3 s of the 15 s lease, so attempts (with commits every half
            // second) often find one on its way.
            client.beforeRenewal = { try await world.sleep(.seconds(3)) }
            var options = ScenarioWorld.options(owner: "host-a:100")
            options.leaseDuration = .seconds(15)
            let first = try world.startReplicator("replicator-a", options: options, client: client)
            for _ in 0..<120 {
                try await app.commit(inserts: 1)
                try await world.sleep(.milliseconds(500))
            }
            try await world.sleep(.seconds(10))
            #expect(client.renewals >= 8)
            #expect(client.mostRenewalsInFlight == 1)
            let restored = try await world.restore().commit
            #expect(restored == app.lastCommit, "renewals \(client.renewals)")
            if case .failure(let error) = await first.stop() {
                throw ScenarioFailure("first replicator failed: \(error)")
            }
        }
    }
}
