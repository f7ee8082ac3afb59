import Core
import Testing

@testable import SimHarness

/// Regression (found by `sluice sim`, default seeds 278 and 256, seventh session, by recording
/// the largest WAL of every seed): the replicator's start copies the WAL's whole backlog into
/// the shadow under the write lock, and touches a few dozen other files; one I/O error anywhere
/// in it ended the start. The next start, after the WAL had grown meanwhile, had more to copy and
/// so less chance to get through, and each failed start left a new generation's directory
/// behind. At one I/O error in a hundred calls seed 278's replicator never started again and the
/// WAL grew to 132 MB; at one in twenty, seed 256's failed thirty starts in a row.
///
/// Now the start-up copy goes on after an error from what it kept, for as long as retries copy
/// something, the sweep for crash leftovers is best effort, and a start that fails on an error
/// that may pass is tried again before the replicator gives up.
@Suite("Regression: the replicator starts on a flaky disk with a backlog to copy", .serialized)
struct RegressionStartUnderIOErrorsTests {
    @Test(
        "with a 3 MB backlog and one I/O error in a hundred calls, the replicator starts, keeps running and catches up")
    func startsWithBacklogUnderIOErrors() async throws {
        try await runScenario(seed: 278) { world in
            let app = world.app
            try await app.create()
            // Written while no replicator runs: the start copies all of it, 4 KiB at a time.
            for _ in 0..<400 { try await app.commit(inserts: 4, size: 2000) }

            let (faults, process) = try RegressionShadowKeepsUpUnderIOErrorsTests.startReplicator(
                in: world, errorRate: 0.01)
            try await world.commitSteadily(100, every: .milliseconds(200), inserts: 1, size: 500)
            #expect(faults.injected > 20, "the replicator's disk should have failed often: \(faults.injected)")
            let ended = try await process.outcome(within: .zero, clock: world.scheduler.clock)
            #expect(ended == nil, "the replicator stopped: \(String(describing: ended))")

            faults.errorRate = 0
            try await world.sleep(.seconds(60))
            #expect(try await world.restore(.latest).commit == app.lastCommit)
            // One generation: no failed start left another behind.
            #expect(try await world.client.generations().count == 1)
            if case .failure(let error) = await process.stop() { throw ScenarioFailure("replicator failed: \(error)") }
        }
    }

    /// Regression (default seed 256): the start read the generation file and listed the shadow
    /// directory with `try?`, so an I/O error there read as "no generation yet" and the restart
    /// began a new generation, with a full snapshot, instead of continuing its own.
    @Test("a restart whose read of the generation file fails once continues its generation")
    func restartContinuesGenerationAfterReadError() async throws {
        try await runScenario(seed: 256) { world in
            let app = world.app
            try await app.create()
            let (_, first) = try RegressionShadowKeepsUpUnderIOErrorsTests.startReplicator(in: world, errorRate: 0)
            try await world.commitSteadily(20, every: .milliseconds(500), inserts: 2, size: 500)
            if case .failure(let error) = await first.stop() { throw ScenarioFailure("replicator failed: \(error)") }
            let before = try await world.client.generations()
            try #require(before.count == 1)

            // Set before the restarted replicator's task first runs, so its start meets it.
            let (restartFaults, second) = try RegressionShadowKeepsUpUnderIOErrorsTests.startReplicator(
                in: world, errorRate: 0)
            restartFaults.failOnce = [("read", "-sluice/generation")]
            try await world.commitSteadily(20, every: .milliseconds(500), inserts: 2, size: 500)
            #expect(restartFaults.injected == 1, "the planned read error did not happen")
            try await world.sleep(.seconds(5))
            #expect(try await world.client.generations() == before, "the restart began a new generation")
            #expect(try await world.restore(.latest).commit == app.lastCommit)
            if case .failure(let error) = await second.stop() { throw ScenarioFailure("replicator failed: \(error)") }
        }
    }
}
