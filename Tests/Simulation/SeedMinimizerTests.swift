import SimHarness
import Testing

@Suite("--without and --minimize: fault classes")
struct SeedMinimizerTests {
    /// A seed of the s3-hell profile draws store errors, stalls and damage at least.
    private let parameters = SwarmParameters.draw(seed: 7, profile: .s3Hell, span: .seconds(300))

    @Test("switching a class off makes it inactive and leaves every other draw as it was")
    func switchOff() {
        let active = FaultClass.allCases.filter { $0.isActive(in: parameters) }
        #expect(active.contains(.storeErrors) && active.contains(.damageAtRest), "\(parameters)")
        for fault in active {
            var without = parameters
            fault.switchOff(in: &without)
            #expect(!fault.isActive(in: without), "\(fault)")
            for other in active where other != fault {
                #expect(other.isActive(in: without), "switching \(fault) off switched \(other) off too")
            }
            #expect(without.replication == parameters.replication && without.span == parameters.span)
        }
    }

    @Test("lists of class names parse, and an unknown name is named in the error")
    func parseList() throws {
        #expect(try FaultClass.parseList("kills,damage").get() == [.replicatorKills, .damageAtRest])
        guard case .failure(let error) = FaultClass.parseList("kills,bogus") else {
            Issue.record("bogus parsed")
            return
        }
        #expect(error.description.hasPrefix("'bogus' is not a fault class"))
    }

    @Test("the minimizer keeps off every class the failure survives and names the ones it needs")
    func minimize() {
        let active = FaultClass.allCases.filter { $0.isActive(in: parameters) }
        try? #require(active.count >= 3)
        let needed: Set<FaultClass> = [active[0], active[2]]
        var runs: [[FaultClass]] = []
        // Fails the same way while both needed classes are on; another way once only one is off.
        let outcome = SeedMinimizer.minimize(parameters: parameters) { off in
            runs.append(off)
            let missing = needed.filter { off.contains($0) }
            if missing.isEmpty { return "invariant 2 (restore at a commit boundary): torn" }
            return missing.count == 1 ? "invariant 6 (catch-up after faults heal): behind" : nil
        }
        #expect(outcome.failure?.hasPrefix("invariant 2") == true)
        #expect(Set(outcome.needed) == needed)
        #expect(Set(outcome.switchedOff) == Set(active).subtracting(needed))
        #expect(runs.count == 1 + active.count, "one run as drawn, then one per active class")

        let passing = SeedMinimizer.minimize(parameters: parameters) { _ in nil }
        #expect(passing.failure == nil && passing.needed.isEmpty && passing.switchedOff.isEmpty)
    }
}
