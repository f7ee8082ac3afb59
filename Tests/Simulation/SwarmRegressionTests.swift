import Core
import SimHarness
import TestSupport
import Testing

/// Seeds that found bugs in Core while the world's fault classes were built, kept so the bugs
/// stay fixed. Each names its profile, span and seed, and what went wrong. A seed whose
/// interleaving a later swarm no longer produces gives way to a test that drives it on purpose
/// (no-faults seed 42: `RegressionSnapshotDuringCheckpointTests`; power-loss seed 92:
/// `RegressionReportBeforeSnapshotTests`).
@Suite("Swarm regressions", .serialized)
struct SwarmRegressionTests {
    @Test(
        "Regression (default seed 36, span 15 s): ENOSPC while creating the next index's shadow no longer skips that index"
    )
    func shadowCreationFailureKeepsIndex() async throws {
        try await blocking {
            // An ENOSPC window hit the replicator just as the WAL restarted. The database advanced
            // its index before creating the new shadow file; the creation failed, the next pass
            // advanced again, and the skipped index never had a shadow: every replica waited for
            // it forever ("local shadow WAL ... is gone before it was uploaded") and invariant 6
            // failed. The index now advances only once its shadow exists.
            let result = SimSeedRun.run(seed: 36, profile: .default, span: .seconds(15))
            #expect(
                result.parameters.chaos.noSpaceWindows > 0,
                "the seed no longer draws an ENOSPC window: \(result.parameters)")
            #expect(result.passed, "\(result.report)")
        }
    }

    @Test(
        "Regression (default seed 301, span 300 s): a scheduled snapshot no longer replaces the one at the same WAL index"
    )
    func scheduledSnapshotKeepsSameIndexSnapshot() async throws {
        try await blocking {
            // With no checkpoint for ten seconds, the scheduled snapshot was labelled with the
            // index the generation's first snapshot had and replaced it (snapshots are keyed by
            // index). A restore to a time between the two then found no snapshot in the
            // generation and fell back to the previous one, older than what was replicated by
            // then (invariant 3, through the bound that a generation reported by T serves T).
            let result = SimSeedRun.run(seed: 301, profile: .default, span: .seconds(300))
            #expect(result.passed, "\(result.report)")
        }
    }

    @Test(
        "Regression (default seed 323, span 300 s): a WAL restart between reading the last copied frame and the header is not a rewritten frame"
    )
    func observationReadsHeaderAfterFrame() async throws {
        try await blocking {
            // The replicator read the WAL's header, was preempted, and read the frame at its
            // shadow's end after the app had restarted the WAL (all of it copied, so allowed):
            // the old header with a new lifetime's frame looked like a rewritten frame, and a
            // new generation started for nothing (invariant 7).
            let result = SimSeedRun.run(seed: 323, profile: .default, span: .seconds(300))
            #expect(result.passed, "\(result.report)")
        }
    }

    @Test(
        "Regression (default seed 385, span 300 s): after the location changed hands twice, the replica's latest generation is the holder's"
    )
    func newerForeignGenerationStartsOurs() async throws {
        try await blocking {
            // A retention round of many stalled deletes outlived the second replicator's lease
            // (renewed only between syncs); the first took the location, wrote a newer
            // generation, lost the lease again, and the second continued its older one: a
            // restore to latest returned the first database. Deletes now renew the lease between
            // batches, and a replicator that finds a newer generation of another writer starts
            // one of its own that sorts after it.
            // Without the S3 client the seed drew later, so it replays the history it was found in.
            let result = SimSeedRun.run(seed: 385, profile: .default, span: .seconds(300), without: [.s3Client])
            #expect(result.passed, "\(result.report)")
        }
    }

    @Test(
        "Regression (default seeds 374 and 343, span 300 s): a killed replicator's late PUT of a segment key never replaces its successor's"
    )
    func lateSegmentUploadNeverReplacesItsSuccessor() async throws {
        try await blocking {
            // A PUT of segment 0:21038 sent before a kill landed 150 s later (a late-landing
            // fault), over the body the restarted replicator had uploaded under the same key with
            // a different end, so index 0 no longer reached the end its successor's seal recorded.
            // Segment writes to S3 are now creates (`If-None-Match: *`): the late one is refused.
            // Seed 343 met the same once the lease keeper changed its schedule: two late PUTs of
            // offset-0 segments, and a restore to a time missing 200 commits reported replicated.
            for seed in [374, 343] as [UInt64] {
                let result = SimSeedRun.run(seed: seed, profile: .default, span: .seconds(300))
                #expect(result.passed, "\(result.report)")
            }
        }
    }

    @Test(
        "Regression (default seed 503, span 300 s): the lease is renewed while one S3 request hangs to its timeout"
    )
    func leaseRenewedDuringAStuckRequest() async throws {
        try await blocking {
            // The second replicator's WAL upload was held 120 s by the endpoint; renewals ran only
            // between a replica's steps, so its lease ran out mid-request and the first replicator
            // took the location back. The lease keeper renews beside the attempt.
            let result = SimSeedRun.run(seed: 503, profile: .default, span: .seconds(300))
            #expect(result.passed, "\(result.report)")
        }
    }

    @Test(
        "Regression (default seed 433, span 300 s): the checkpoint before a due snapshot runs in the shadow pass, not beside it"
    )
    func requestedCheckpointRunsInThePass() async throws {
        try await blocking {
            // The syncer ran the checkpoint itself; its shadow copy interleaved with the pass's,
            // which judged a look at the WAL taken before the copy moved the shadow to the next
            // index: "the last copied frame changed", a needless generation (invariant 7).
            let result = SimSeedRun.run(seed: 433, profile: .default, span: .seconds(300))
            #expect(result.passed, "\(result.report)")
        }
    }

    @Test(
        "Regression (default seed 75, span 300 s): a start that continues a generation with a snapshot and no WAL keeps that snapshot"
    )
    func continuedGenerationKeepsItsOnlySnapshot() async throws {
        try await blocking {
            // A power loss emptied the WAL; the new generation's snapshot went up and nothing
            // else was committed before a clean stop. The start that continued the generation
            // found no shadow and no segments, took the snapshot again under the same name, and a
            // restore to a time between the two uploads fell back to the previous generation
            // (invariant 3). Found when uploads began to follow the monitor's passes.
            let result = SimSeedRun.run(seed: 75, profile: .default, span: .seconds(300))
            #expect(result.passed, "\(result.report)")
        }
    }

    @Test(
        "Regression (default seed 1255, span 300 s): a sync that fails after the shadow's open tail was cut leaves no hole"
    )
    func failedSyncAfterTailCutLeavesNoHole() async throws {
        try await blocking {
            // A pass copied an open transaction's first frames, cut them again at its end, and
            // then its fsync failed. The failure path still counted those frames as written and
            // kept them as a partial transaction by truncating the file up to their end, which
            // filled them with zeros; the next pass resumed after them, and the closed shadow
            // index held three zero frames where the WAL had pages (invariant 9).
            let result = SimSeedRun.run(seed: 1255, profile: .default, span: .seconds(300))
            #expect(result.passed, "\(result.report)")
        }
    }

    @Test(
        "Regression (default seed 29, span 300 s): a timestamp restore that planned around a lost snapshot is not judged inexact"
    )
    func lostSnapshotChangesThePlan() async throws {
        try await blocking {
            // The store lost a snapshot as it was written; the restore's listing rightly left it
            // out and planned from the snapshot before it, but the plan oracle counted the lost
            // one as listed all along (invariant 8). A lost newer snapshot of the restored
            // generation now excuses the plan check, as lost later segments already did.
            let result = SimSeedRun.run(seed: 29, profile: .default, span: .seconds(300))
            #expect(result.passed, "\(result.report)")
        }
    }
}
