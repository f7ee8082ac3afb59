import Core
import Testing

@testable import SimHarness

/// Regression (the largest WAL peaks left in default seeds 1..1000, seventh session): a
/// replicator killed without releasing its lease left it on the replica for the whole lease
/// period (30 s), and its restart on the same machine was refused as "in use by another
/// replicator" until then, while the app's WAL grew unreplicated. The restart now takes over a
/// lease its own database's local state recorded, once it holds the local lock that proves the
/// recorded replicator is gone; a replicator of the same database that still runs keeps
/// refusing a second one (Scenario 5).
@Suite("Regression: a replicator restarted after a crash takes its predecessor's lease over at once", .serialized)
struct RegressionRestartAfterCrashTests {
    @Test("killed and restarted at once, the replicator replicates again within seconds, not after the 30 s lease")
    func restartTakesOverDeadPredecessorsLease() async throws {
        try await runScenario(seed: 41) { world in
            let app = world.app
            try await app.create()
            // Bound to its process: once killed, it can tell the store nothing (its lease stays).
            let firstClient = ProcessBoundReplicaClient(base: world.client)
            let first = try world.startReplicator(
                "replicator-1", options: ScenarioWorld.options(owner: "host-a:100"), client: firstClient)
            try await world.commitSteadily(10, every: .milliseconds(300), inserts: 2)
            try await world.sleep(.seconds(2))
            firstClient.kill()
            await first.kill()
            let stored = await world.store.peek(world.client.leaseKey)
            let left = try #require(
                stored.flatMap { Lease.decode($0) }, "the killed replicator's lease should be left behind")
            #expect(left.owner == "host-a:100" && left.expires > world.wallClock.now() + .seconds(20))

            // The restart, with a new pid, while the dead replicator's lease has 25 s or more left.
            let second = try world.startReplicator(
                "replicator-2", options: ScenarioWorld.options(owner: "host-a:200"),
                client: ProcessBoundReplicaClient(base: world.client))
            try await world.commitSteadily(10, every: .milliseconds(300), inserts: 2)
            try await world.sleep(.seconds(3))
            let ended = try await second.outcome(within: .zero, clock: world.scheduler.clock)
            #expect(ended == nil, "the restarted replicator stopped: \(String(describing: ended))")
            #expect(
                try await world.restore(.latest).commit == app.lastCommit,
                "6 s after the restart the replica should hold the last commit")
            if case .failure(let error) = await second.stop() { throw ScenarioFailure("replicator failed: \(error)") }
        }
    }
}
