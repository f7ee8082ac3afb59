import Core
import SimHarness
import Testing

/// A signal given at the instant a timed wait times out is never lost: either that wait
/// reports it, or the next wait returns at once. The simulator fires both timers in one instant
/// and picks their jobs' order from the seed, so the seeds cover both orders.
@Suite("WakeSignal: a signal at the timeout's instant is kept", .serialized)
struct WakeSignalRaceTests {
    @Test("over 200 seeds, a signal given as a 1 s wait times out reaches that wait or the next")
    func signalAtTimeoutIsKept() throws {
        var caughtByFirst = 0
        var caughtBySecond = 0
        for seed in 1...200 as ClosedRange<UInt64> {
            let result = try SimScheduler.run(seed: seed) { sim in
                let signal = WakeSignal()
                let signaller = sim.spawner.spawn {
                    try await sim.clock.sleep(for: .seconds(1))
                    signal.signal()
                }
                let first = try await signal.wait(timeout: .seconds(1), clock: sim.clock)
                try await signaller.value
                let second = first ? false : try await signal.wait(timeout: .seconds(60), clock: sim.clock)
                return (first, second, sim.clock.now)
            }
            let (first, second, _) = result.value
            #expect(first || second, "seed \(seed): the signal was lost")
            #expect(result.elapsed < .seconds(2), "seed \(seed): the second wait waited for a signal already given")
            if first { caughtByFirst += 1 } else { caughtBySecond += 1 }
        }
        // Both orders happen, or the test does not test the race.
        #expect(
            caughtByFirst > 0 && caughtBySecond > 0, "\(caughtByFirst) by the first wait, \(caughtBySecond) by the next"
        )
    }
}
