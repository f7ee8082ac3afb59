import Core
import SimHarness
import Testing
import TestSupport

/// Seeds that found bugs in Core while the world's fault classes were built, kept so the bugs
/// stay fixed. Each names its profile, span and seed, and what went wrong. A seed whose
/// interleaving a later swarm no longer produces gives way to a test that drives it on purpose
/// (no-faults seed 42: `RegressionSnapshotDuringCheckpointTests`).
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

    @Test("Regression (power-loss seed 92): WAL uploaded before a generation's first snapshot is not reported replicated until the snapshot lands")
    func noReportBeforeFirstSnapshot() async throws {
        try await blocking {
            // After a power loss the restarted replicator began a new generation; its first
            // snapshot failed (store errors), but the WAL it had uploaded first was reported
            // replicated. A restore to latest, which needs a snapshot, used the older generation
            // and gave a commit of the history the power loss cut off (invariant 1, at 170 s).
            let result = SimSeedRun.run(seed: 92, profile: .powerLoss, span: .seconds(300))
            #expect(result.parameters.chaos.powerLosses > 0, "the seed no longer draws a power loss: \(result.parameters)")
            #expect(result.passed, "\(result.report)")
        }
    }
}
