import Core
import Testing

@testable import SimHarness

/// Regression: a start that met an application transaction holding SQLite's write lock gave up
/// on deciding its generation at once; the first sync pass then found no generation and began a
/// new one, with a full snapshot, although the shadow continued fine (invariant 7's seeds run
/// large transactions across the replicator's restarts). The start now waits for the lock.
@Suite("Regression: a start waits for an application's write lock before deciding its generation", .serialized)
struct RegressionStartWaitsForWriteLockTests {
    @Test("a restart while the app holds the write lock for a moment continues the generation")
    func restartDuringTransaction() async throws {
        try await runScenario(seed: 7) { world in
            let app = world.app
            try await app.create()
            let first = try world.startReplicator("replicator-1")
            try await world.commitSteadily(5, every: .milliseconds(200), inserts: 2)
            if case .failure(let error) = await first.stop() { throw ScenarioFailure("replicator failed: \(error)") }

            // The app opens a write transaction and holds it across the replicator's start.
            let connection = try #require(app.connection)
            try await connection.execute("BEGIN IMMEDIATE")
            _ = try await connection.query("UPDATE meta SET n = n WHERE k = 0")
            let second = try world.startReplicator("replicator-2")
            try await world.sleep(.milliseconds(300))
            try await connection.execute("COMMIT")
            try await world.commitSteadily(5, every: .milliseconds(200), inserts: 2)
            try await world.sleep(.seconds(2))

            #expect(try await world.client.generations().count == 1, "the restart began a new generation")
            #expect(try await world.restore(.latest).commit == app.lastCommit)
            if case .failure(let error) = await second.stop() { throw ScenarioFailure("replicator failed: \(error)") }
        }
    }
}
