import Core
import SimHarness
import Testing

/// Found by `sluice sim` (default seed 20): a replicator that stopped on a disk error tried once
/// to release its lease, the store failed that one request, and the lease stayed behind for
/// its whole period. The supervisor's next six restarts of the same database were refused as
/// "in use by another replicator" for 30 s, while the app kept writing.
///
/// Here the store fails every request for a tenth of a second just as the first replicator
/// stops; its release must try again, so a replicator started right after takes over at once.
@Suite("Regression: a stopping replicator retries its lease release", .serialized)
struct RegressionLeaseReleaseRetryTests {
    @Test(
        "a lease release the store fails once is retried; the next replicator starts without waiting for the lease to expire"
    )
    func releaseRetried() async throws {
        try await runScenario(seed: 20) { world in
            let app = world.app
            try await app.create()
            let first = try world.startReplicator("replicator-a", options: ScenarioWorld.options(owner: "host-a:100"))
            try await world.commitSteadily(4, every: .milliseconds(300), inserts: 2)
            try await world.sleep(.seconds(2))

            // The store refuses everything for 100 ms from the moment the stop begins: the final
            // sync fails (logged, not fatal) and so does the first try at releasing the lease.
            await world.store.setFaults(ObjectStoreFaults(errorRate: 1))
            let heal = world.scheduler.spawner.spawn {
                try await world.scheduler.clock.sleep(for: .milliseconds(100))
                await world.store.setFaults(.none)
            }
            if case .failure(let error) = await first.stop() {
                throw ScenarioFailure("first replicator failed: \(error)")
            }
            _ = await heal.result

            // A restart of the same database a moment later (another process on the same machine).
            let second = try world.startReplicator("replicator-a2", options: ScenarioWorld.options(owner: "host-a:200"))
            try await app.commit(inserts: 1)
            switch try await second.outcome(within: .seconds(3), clock: world.scheduler.clock) {
            case nil:
                break
            case .failure(let error as LeaseError):
                Issue.record("the restarted replicator was refused: \(error)")
            case .failure(let error):
                Issue.record("the restarted replicator failed: \(error)")
            case .success:
                Issue.record("the restarted replicator stopped by itself")
            }
            if case .failure(let error) = await second.stop() { Issue.record("second replicator failed: \(error)") }
            #expect(try await world.restore().commit == app.lastCommit)
        }
    }
}
