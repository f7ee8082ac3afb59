import ArgumentParser
import Glibc
import IO
import SimHarness

/// `sluice sim --seed N --minimize`: the fault classes a failing seed's failure needs
/// (`SeedMinimizer`), each trial a whole run of the seed in this process.
extension SimCommand {
    func runMinimize(seed: UInt64, profile: SwarmProfile, span: Duration) async throws {
        let parameters = drawnParameters(seed, profile: profile, span: span)
        print(parametersLine(seed, parameters: parameters, profile: profile))
        fflush(nil)
        let base = withoutClasses
        let threads = ThreadPoolRunner(threads: 1, stackSize: 64 << 20)
        let (outcome, failureClass) = try await threads.run { () -> (SeedMinimizer.Outcome, SimFailureClass?) in
            var firstClass: SimFailureClass?
            let outcome = SeedMinimizer.minimize(parameters: parameters) { off in
                let result = SimSeedRun.run(
                    seed: seed, profile: profile, span: span, registerDefaultVFS: true,
                    traceTailLength: 0, without: base + off)
                if off.isEmpty { firstClass = result.failureClass }
                let verdict = result.failure.map { "fails: \($0.prefix(160))" } ?? "passes"
                print(
                    off.isEmpty
                        ? "minimize: as drawn, the seed \(verdict)"
                        : "minimize: without \(off.map(\.rawValue).joined(separator: ",")), it \(verdict)")
                fflush(nil)
                return result.failure
            }
            return (outcome, firstClass)
        }
        guard outcome.failure != nil else {
            print("minimize: seed \(seed) passes; nothing to minimize")
            return
        }
        let needed = outcome.needed.map(\.rawValue).joined(separator: ", ")
        print("minimize: the failure needs \(needed.isEmpty ? "none of the seed's fault classes" : needed)")
        print(reproduceLine(seed, profile: profile, without: base + outcome.switchedOff))
        throw ExitCode((failureClass ?? .crash).rawValue)
    }
}
