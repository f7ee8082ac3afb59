import Core
import SimHarness
import TestSupport
import Testing

/// Whole-world runs: the real Replicator and Restorer against a seeded app workload, with the
/// oracle checking invariants 1, 2, 4 and 6 (see `SimWorld`).
@Suite("Swarm runs", .serialized)
struct SwarmRunTests {
    static let span: Duration = .seconds(8)

    @Test(
        "Swarm: 20 seeds of each profile keep invariants 1, 2, 4 and 6", arguments: [SwarmProfile.noFaults, .default])
    func seeds(profile: SwarmProfile) async throws {
        try await blocking {
            var failures: [String] = []
            for seed in UInt64(1)...20 {
                let result = SimSeedRun.run(seed: seed, profile: profile, span: Self.span)
                if !result.passed { failures.append(result.report) }
                #expect(result.commits > 0 || !result.passed, "seed \(seed) committed nothing")
            }
            #expect(failures.isEmpty, "\(failures.count) seeds failed; first:\n\(failures.first ?? "")")
        }
    }

    @Test("Swarm: a seed replays with the same trace digest; another seed differs")
    func determinism() async throws {
        try await blocking {
            let first = SimSeedRun.run(seed: 7, profile: .default, span: Self.span)
            let again = SimSeedRun.run(seed: 7, profile: .default, span: Self.span)
            let other = SimSeedRun.run(seed: 8, profile: .default, span: Self.span)
            #expect(first.passed, "\(first.report)")
            #expect(first.traceDigest != nil)
            #expect(first.traceDigest == again.traceDigest)
            #expect(first.simulated == again.simulated)
            #expect(first.commits == again.commits)
            #expect(first.traceDigest != other.traceDigest)
        }
    }

    @Test(
        "Regression (s3-hell seeds 1 and 3, span 20 s): an ambiguous first lease write no longer stops the replicator",
        arguments: [UInt64(1), 3])
    func ambiguousLeaseAtStartUp(seed: UInt64) async throws {
        try await blocking {
            // The replicator exited when its first lease PUT-IF-ABSENT landed but reported a failure;
            // the supervisor then had to restart it. It now retries with the same token and finds
            // its own lease, so it never exits (the idle gaps' planned restarts aside).
            let result = SimSeedRun.run(seed: seed, profile: .s3Hell, span: .seconds(20))
            #expect(result.passed, "\(result.report)")
            #expect(result.replicatorExits == 0, "the replicator exited \(result.replicatorExits) times")
        }
    }

    @Test(
        "Swarm: a lease-takeover seed (default seed 11, span 100 s) hands the location to the second machine and keeps every invariant"
    )
    func leaseTakeover() async throws {
        try await blocking {
            // The partition cuts the first replicator off for longer than its lease; the second
            // machine's replicator takes the location over, the first's restarts are refused, and a
            // WAL segment the partition held lands after the first's lease lapsed.
            let result = SimSeedRun.run(seed: 11, profile: .default, span: .seconds(100))
            #expect(
                result.parameters.chaos.takeover != nil, "the seed no longer draws a takeover: \(result.parameters)")
            #expect(result.passed, "\(result.report)")
            let takeover = try #require(result.takeover, "the second replicator never took the location over")
            #expect(takeover.refusedStarts > 0)
            #expect(result.lateWrites > 0)
        }
    }
}
