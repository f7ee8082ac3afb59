import Core
import SimHarness
import Testing

/// Regression (found by `sluice sim`, no-faults seed 42, span 30 s, in the second session's
/// swarm): an emergency checkpoint retries PASSIVE across awaits while a reader holds it back,
/// and a snapshot that started in the middle read the database file while the checkpoint copied
/// pages into it; the restore from that snapshot failed `integrity_check`. The swarm has since
/// changed and that seed no longer meets the interleaving, so this drives it on purpose: the
/// replicator's engine starts an emergency checkpoint that a long reader keeps retrying, a
/// snapshot is asked for meanwhile, and the snapshot's lease must only be granted once the
/// checkpoint is over.
@Suite("Regression: a snapshot waits for a running checkpoint", .serialized)
struct RegressionSnapshotDuringCheckpointTests {
    @Test("an emergency checkpoint held back by a reader finishes before a snapshot may read the database file")
    func snapshotWaitsForEmergencyCheckpoint() async throws {
        try await runScenario(seed: 42) { world in
            let app = world.app
            try await app.create()
            for _ in 0..<5 { try await app.commit(inserts: 2) }

            let node = try world.startNode("replicator")
            var options = ScenarioWorld.options()
            options.writeLockBudget = .seconds(2)
            let database = ReplicatedDatabase(
                path: ScenarioWorld.databasePath, options: options, environment: node.environment)
            try await database.open()
            try await database.sync()

            // A reader pins the WAL where it stands; what the app commits next cannot be
            // backfilled until it ends, so every PASSIVE of the emergency checkpoint is partial.
            let readerNode = try world.startNode("reader")
            let reader = try await readerNode.open(ScenarioWorld.databasePath)
            try await reader.execute("BEGIN")
            _ = try await reader.query("SELECT count(*) FROM t")
            for _ in 0..<5 { try await app.commit(inserts: 3) }
            try await database.sync()

            let clock = world.scheduler.clock
            let seen = Seen()
            let checkpoint = world.scheduler.spawner.spawn {
                try await database.checkpoint(.truncate(reason: "regression test"))
                seen.checkpointDone = true
            }
            // Let the checkpoint take the write lock and start retrying PASSIVE.
            try await clock.sleep(for: .milliseconds(50))
            #expect(!seen.checkpointDone, "the reader should keep the emergency checkpoint retrying")

            let snapshot = world.scheduler.spawner.spawn {
                let lease = try await database.beginSnapshot()
                seen.leaseWhileCheckpointing = !seen.checkpointDone
                if lease != nil { await database.endSnapshot() }
                return lease != nil
            }
            // The reader ends in the middle of the retries: the next PASSIVE copies every page.
            try await clock.sleep(for: .milliseconds(300))
            try await reader.execute("ROLLBACK")
            try await reader.close()

            try await checkpoint.value
            #expect(try await snapshot.value, "the snapshot should get its lease once the checkpoint is over")
            #expect(
                seen.leaseWhileCheckpointing == false,
                "a snapshot got its lease while the emergency checkpoint was copying pages into the database file")
            await database.close()
        }
    }

    /// What the spawned tasks saw; only the simulator's one thread touches it.
    // @unchecked: touched only on the simulator's one thread.
    private final class Seen: @unchecked Sendable {
        var checkpointDone = false
        var leaseWhileCheckpointing: Bool?
    }
}
