import Core
import SimHarness
import TestSupport
import Testing

/// The swarm at scale: 100 seeds each of the default, power-loss and s3-hell profiles (with the
/// no-faults seeds of `SwarmRunTests`, over 300 in all), at a short simulated span, every
/// invariant of the oracle checked (1–6; see `SimWorld` and `PointInTimeOracle`).
@Suite("Swarm seeds")
struct SwarmSeedsTests {
    static let span: Duration = .seconds(6)
    static let seeds = UInt64(1001)...1100

    @Test(
        "Swarm: 100 seeds of each fault profile keep every invariant",
        arguments: [SwarmProfile.default, .powerLoss, .s3Hell])
    func seeds(profile: SwarmProfile) async throws {
        try await blocking {
            var failures: [String] = []
            var commits = 0
            var disrupted = 0
            for seed in Self.seeds {
                let result = SimSeedRun.run(seed: seed, profile: profile, span: Self.span)
                if !result.passed { failures.append(result.report) }
                commits += result.commits
                if result.parameters.chaos != .none { disrupted += 1 }
            }
            #expect(failures.isEmpty, "\(failures.count) \(profile) seeds failed; first:\n\(failures.first ?? "")")
            #expect(commits > 0)
            // The profiles must actually turn their classes on: s3-hell adds none, the others many.
            if profile == .s3Hell {
                #expect(disrupted == 0)
            } else {
                #expect(disrupted > Self.seeds.count / 3, "only \(disrupted) \(profile) seeds drew a fault class")
            }
        }
    }
}
