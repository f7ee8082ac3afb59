import Core
import SimHarness
import Testing

/// The replica loop's backoff must end with the errors that caused it: an attempt that goes
/// through resets the failure count, so a replicator that met an outage once syncs at its sync
/// interval again afterwards instead of once a minute (mutation 16; the healed window's lag bound
/// is the swarm's check, docs/simulation.md "Liveness invariants").
@Suite("Regression: the sync backoff resets after a successful attempt", .serialized)
struct RegressionBackoffResetsTests {
    @Test("after an outage that drove the backoff to its cap, commits are restorable within seconds again")
    func backoffResetsAfterOutage() async throws {
        try await runScenario(seed: 41) { world in
            let app = world.app
            try await app.create()
            try await app.commit(inserts: 2)

            let client = InterceptingReplicaClient(base: world.client)
            var outage = false
            client.beforeEveryWrite = { what in
                if outage { throw InterceptingReplicaClient.refusal(what) }
            }
            let process = try world.startReplicator("replicator", client: client)
            try await world.sleep(.seconds(3))

            // Two minutes of failed attempts: the backoff reaches its one-minute cap.
            outage = true
            try await world.commitSteadily(120, every: .seconds(1))
            outage = false
            // The attempt after the outage goes through within a capped backoff.
            try await world.commitSteadily(70, every: .seconds(1))
            #expect(
                try await world.restore(.latest).commit == app.lastCommit,
                "the replica should have caught up after the outage")

            // From here every commit must be restorable within a few sync intervals.
            for round in 0..<6 {
                try await world.commitSteadily(5, every: .seconds(1))
                try await world.sleep(.seconds(4))
                let restored = try await world.restore(.latest).commit
                #expect(
                    restored == app.lastCommit,
                    "round \(round): 4 s after its last commit the replica restores \(restored) of \(app.lastCommit)")
            }
            _ = await process.stop()
        }
    }
}
