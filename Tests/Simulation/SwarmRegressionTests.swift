import Core
import SimHarness
import Testing
import TestSupport

/// Seeds that found bugs in Core while the world's fault classes were built, kept so the bugs
/// stay fixed. Each names its profile, span and seed, and what went wrong.
@Suite("Swarm regressions", .serialized)
struct SwarmRegressionTests {
    @Test("Regression (default seed 36, span 15 s): ENOSPC while creating the next index's shadow no longer skips that index")
    func shadowCreationFailureKeepsIndex() async throws {
        try await blocking {
            // An ENOSPC window hit the replicator just as the WAL restarted. The database advanced
            // its index before creating the new shadow file; the creation failed, the next pass
            // advanced again, and the skipped index never had a shadow: every replica waited for
            // it forever ("local shadow WAL ... is gone before it was uploaded") and invariant 6
            // failed. The index now advances only once its shadow exists.
            let result = SimSeedRun.run(seed: 36, profile: .default, span: .seconds(15))
            #expect(result.parameters.chaos.noSpaceWindows > 0, "the seed no longer draws an ENOSPC window: \(result.parameters)")
            #expect(result.passed, "\(result.report)")
        }
    }

    @Test("Regression (no-faults seed 42, span 30 s): a snapshot no longer starts while an emergency checkpoint runs")
    func snapshotWaitsForCheckpoint() async throws {
        try await blocking {
            // The replicator's emergency checkpoint (PASSIVE retries, then TRUNCATE, across awaits)
            // only barred snapshots when it began; a scheduled snapshot started in the middle,
            // read the database file while pages were copied into it, and the restore to latest
            // from that snapshot failed integrity_check (invariant 2). Snapshots now wait for a
            // running checkpoint to finish.
            let result = SimSeedRun.run(seed: 42, profile: .noFaults, span: .seconds(30))
            #expect(result.passed, "\(result.report)")
        }
    }
}
