import Core
import SimHarness
import Testing

/// Scenario 5 (Litestream #422, #224, #454, #1301): two replicators write one replica location.
/// Litestream documented "don't", added a lease object later and never enforced it in
/// `replicate`; users got interleaved histories (#422: thousands of tiny segments from two
/// instances on one database during a container restart) and unrestorable backups (#224: the
/// same bucket path configured twice).
///
/// The scenario runs the real replicator for the app, then starts a second one on the same
/// database (an overlapping deploy) and a third on another machine with a database of its own
/// (a misconfiguration), both pointed at the same location. Each must be refused with the
/// lease error naming the holder, while the first keeps replicating; the replica must hold only
/// the first replicator's history and restore the app's database exactly.
@Suite("Scenario 5: two replicators, one replica location", .serialized)
struct Scenario5TwoReplicatorsTests {
    @Test("Scenario 5: a second replicator on the same location is refused by the lease; the replica restores exactly")
    func scenario5TwoReplicators() async throws {
        try await runScenario(seed: 5) { world in
            let app = world.app
            try await app.create()
            let first = try world.startReplicator("replicator-a", options: ScenarioWorld.options(owner: "host-a:100"))
            try await world.commitSteadily(5, every: .milliseconds(300), inserts: 2)
            try await world.sleep(.seconds(3))
            let generations = try await world.client.generations()
            try #require(generations.count == 1)

            // The same database, a second process (an overlapping deploy), while the app writes.
            let overlapping = try world.startReplicator(
                "replicator-a2", options: ScenarioWorld.options(owner: "host-a:200"))
            // Another machine with a database of its own, configured with the same replica URL.
            let otherDisk = SimDisk(wallClock: { [wallClock = world.wallClock] in wallClock.now() })
            let otherApp = ScenarioApp(
                node: try world.startNode("app-c", disk: otherDisk), path: "/other.db", scheduler: world.scheduler)
            try await otherApp.create()
            for _ in 0..<3 { try await otherApp.commit(inserts: 3) }
            let other = try world.startReplicator(
                "replicator-c", options: ScenarioWorld.options(owner: "host-c:300"),
                disk: otherDisk, databasePath: "/other.db")
            for _ in 0..<10 {
                try await app.commit(inserts: 2)
                try await otherApp.commit(inserts: 1)
                try await world.sleep(.milliseconds(300))
            }

            for (name, replicator) in [("same database", overlapping), ("other machine", other)] {
                switch try await replicator.outcome(within: .seconds(10), clock: world.scheduler.clock) {
                case nil:
                    Issue.record("\(name): the second replicator was not refused; it is still replicating")
                    await replicator.stop()
                case .success:
                    Issue.record("\(name): the second replicator was not refused")
                case .failure(let error as LeaseError):
                    guard case .held(_, let holder) = error else {
                        Issue.record("\(name): refused with \(error), expected the lease to be held")
                        break
                    }
                    #expect(holder.owner == "host-a:100", "\(name): the refusal should name the holder")
                case .failure(let error):
                    Issue.record("\(name): failed with \(error), expected LeaseError.held")
                }
            }
            await otherApp.close()

            try await world.commitSteadily(5, every: .milliseconds(300), inserts: 1)
            try await world.sleep(.seconds(3))
            // Only the first replicator's history is on the replica, and it is the app's.
            #expect(try await world.client.generations() == generations)
            #expect(try await world.restore().commit == app.lastCommit)
            if case .failure(let error) = await first.stop() {
                throw ScenarioFailure("first replicator failed: \(error)")
            }
            #expect(try await world.restore().commit == app.lastCommit)
            _ = try await app.currentState()
        }
    }
}
