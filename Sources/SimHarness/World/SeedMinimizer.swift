/// `sluice sim --seed N --minimize`: which of a failing seed's fault classes its failure needs.
///
/// Each fault class the seed draws is switched off in turn, and stays off if the seed still fails
/// with the same invariant (or scheduler failure) without it. What is left on is a set no single
/// class of which can go; smaller seeds are easier to read, and the classes it names say where to
/// look. One run per active class, so it costs as many seed runs as the seed draws classes.
public enum SeedMinimizer {
    public struct Outcome: Sendable {
        /// The failure of the seed as drawn, or nil if it passes (nothing to minimize).
        public var failure: String?
        /// Classes the failure needs: switching any one off (with the others off) made it pass
        /// or fail differently.
        public var needed: [FaultClass] = []
        /// Classes switched off with the failure unchanged.
        public var switchedOff: [FaultClass] = []
    }

    /// Minimizes `seed`; `run` runs it with the given classes off (a seed run, in this process
    /// or another) and returns its failure line, or nil when it passes.
    public static func minimize(parameters: SwarmParameters, run: ([FaultClass]) -> String?) -> Outcome {
        guard let failure = run([]) else { return Outcome(failure: nil) }
        var outcome = Outcome(failure: failure)
        let kind = Self.kind(of: failure)
        for fault in FaultClass.allCases where fault.isActive(in: parameters) {
            let trial = outcome.switchedOff + [fault]
            if let again = run(trial), Self.kind(of: again) == kind {
                outcome.switchedOff = trial
            } else {
                outcome.needed.append(fault)
            }
        }
        return outcome
    }

    /// What a failure line names before its details: "invariant 2 (...)", "deadlock", ...
    static func kind(of failure: String) -> Substring {
        failure.prefix { $0 != ":" }
    }
}
