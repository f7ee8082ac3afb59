import Core
import SimHarness
import Testing
import TestSupport

/// Seeds that found bugs in Core while the world's fault classes were built, kept so the bugs
/// stay fixed. Each names its profile, span and seed, and what went wrong. A seed whose
/// interleaving a later swarm no longer produces gives way to a test that drives it on purpose
/// (no-faults seed 42: `RegressionSnapshotDuringCheckpointTests`; power-loss seed 92:
/// `RegressionReportBeforeSnapshotTests`).
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
}
