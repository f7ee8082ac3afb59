import Core
import SimHarness
import Testing

@Suite("Simulation scheduler", .serialized)
struct SchedulerTests {
    /// Runs `body` expecting the run to fail, and returns the failure.
    private func failure<T>(
        seed: UInt64 = 1, options: SchedulerOptions = SchedulerOptions(),
        _ body: sending @escaping (SimScheduler) async throws -> T
    ) -> SimRunError? {
        do {
            _ = try SimScheduler.run(seed: seed, options: options, body)
            return nil
        } catch let error as SimRunError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("the same seed replays the same interleaving, digest and result")
    func sameSeedReplays() throws {
        let first = try SimScheduler.run(seed: 42, mixedWorkload)
        let second = try SimScheduler.run(seed: 42, mixedWorkload)
        #expect(first.traceDigest == second.traceDigest)
        #expect(first.value == second.value)
        #expect(first.jobs == second.jobs)
        #expect(first.elapsed == second.elapsed)
        #expect(first.jobs > 50, "the workload should schedule many jobs, ran \(first.jobs)")
        #expect(first.value.last == "total=6")
        // Compared across processes by hand (and by the future determinism self-check).
        print(
            "mixed workload seed 42: digest \(String(first.traceDigest, radix: 16)), \(first.jobs) jobs, \(first.traceEvents) events"
        )
    }

    @Test("different seeds explore different interleavings")
    func seedsDiffer() throws {
        var digests: Set<UInt64> = []
        var orders: Set<[String]> = []
        for seed in UInt64(1)...20 {
            let result = try SimScheduler.run(seed: seed, mixedWorkload)
            digests.insert(result.traceDigest)
            orders.insert(result.value)
            #expect(result.value.last == "total=6")
        }
        #expect(digests.count >= 15, "distinct digests over 20 seeds: \(digests.count)")
        #expect(orders.count >= 5, "distinct observed interleavings over 20 seeds: \(orders.count)")
    }

    @Test("with random picks off, every seed runs the same FIFO interleaving")
    func fifoIgnoresSeed() throws {
        let options = SchedulerOptions(randomPickProbability: 0)
        let reference = try SimScheduler.run(seed: 1, options: options, mixedWorkload)
        for seed in UInt64(2)...5 {
            let result = try SimScheduler.run(seed: seed, options: options, mixedWorkload)
            #expect(result.traceDigest == reference.traceDigest)
            #expect(result.value == reference.value)
        }
    }

    @Test("simulated time advances only when idle: an hour's sleep takes no real time")
    func timeJumpsWhenIdle() throws {
        let wallStart = ContinuousClock.now
        let result = try SimScheduler.run(seed: 7) { sim in
            let clock = sim.clock
            let start = clock.now
            async let short: Void = clock.sleep(for: .seconds(3600))
            async let long: Void = clock.sleep(for: .seconds(7200))
            _ = try await (short, long)
            return start.duration(to: clock.now)
        }
        let wall = ContinuousClock.now - wallStart
        #expect(result.value == .seconds(7200))
        #expect(result.elapsed == .seconds(7200))
        #expect(result.timersFired == 2)
        // Generous for a loaded machine; a real hour's sleep would still fail it.
        #expect(wall < .seconds(30), "two simulated hours took \(wall) of real time")
    }

    @Test("busy work without sleeps leaves the clock at zero")
    func busyWorkTakesNoTime() throws {
        let result = try SimScheduler.run(seed: 3) { sim in
            for _ in 0..<100 { await Task.yield() }
            return sim.now
        }
        #expect(result.value == .zero)
        #expect(result.elapsed == .zero)
        #expect(result.jobs >= 100)
    }

    @Test("the wall clock is the epoch plus simulated time")
    func wallClockFollowsSimulatedTime() throws {
        let result = try SimScheduler.run(seed: 3) { sim in
            let wall = SimWallClock(scheduler: sim)
            let before = wall.now()
            try await sim.clock.sleep(for: .milliseconds(1500))
            return (before, wall.now())
        }
        #expect(result.value.0 == SimWallClock.defaultEpoch)
        #expect(result.value.1 - result.value.0 == .milliseconds(1500))
    }

    @Test("a cancelled sleep throws CancellationError at once, without waiting for its deadline")
    func cancelledSleepEndsPromptly() throws {
        let result = try SimScheduler.run(seed: 11) { sim in
            let clock = sim.clock
            let sleeper = sim.spawner.spawn {
                try await clock.sleep(for: .seconds(3600))
            }
            try await clock.sleep(for: .seconds(1))
            sleeper.cancel()
            do {
                try await sleeper.value
                return "finished"
            } catch is CancellationError {
                return "cancelled at \(sim.now)"
            }
        }
        #expect(result.value == "cancelled at 1.0 seconds")
        #expect(result.elapsed == .seconds(1))
    }

    @Test("a sleep in an already cancelled task throws without registering a timer")
    func sleepInCancelledTask() throws {
        let result = try SimScheduler.run(seed: 11) { sim in
            let clock = sim.clock
            return await withTaskGroup(of: Bool.self) { group in
                group.cancelAll()
                group.addTask {
                    do {
                        try await clock.sleep(for: .seconds(5))
                        return false
                    } catch { return error is CancellationError }
                }
                return await group.next() ?? false
            }
        }
        #expect(result.value)
        #expect(result.elapsed == .zero)
    }

    @Test("tasks waiting on each other with no timer pending are reported as a deadlock")
    func deadlockDetected() throws {
        let error = try #require(
            failure { sim in
                let log = EventLog()
                await log.note("about to wait forever")
                // A continuation nobody resumes: the classic lost wake-up.
                await withUnsafeContinuation { (_: UnsafeContinuation<Void, Never>) in }
            })
        #expect(error.failure == .deadlock)
        #expect(error.description.contains("deadlock"))
        #expect(error.seed == 1)
    }

    @Test("a Task.detached inside the simulation is an escape through the global executor")
    func detachedTaskEscapes() throws {
        let error = try #require(
            failure { _ in
                await Task.detached { 1 }.value
            })
        #expect(error.failure == .escape(.globalEnqueue))
    }

    @Test("a bare Task {} does not inherit the preference and escapes too")
    func bareTaskEscapes() throws {
        let error = try #require(
            failure { _ in
                await Task { 1 }.value
            })
        #expect(error.failure == .escape(.globalEnqueue))
    }

    // The sleep is a day long: were it not cut short, the time limit would fail the test.
    @Test("a real Task.sleep is reported as a real-time sleep escape", .timeLimit(.minutes(1)))
    func realSleepEscapes() throws {
        let error = try #require(
            failure { _ in
                try await Task.sleep(for: .seconds(86_400))
            })
        #expect(error.failure == .escape(.realTimeSleep(clock: "ContinuousClock")))
    }

    @Test("a real-time sleep inside an actor is caught as well")
    func realSleepInActorEscapes() throws {
        actor Sleeper {
            func nap() async throws { try await ContinuousClock().sleep(for: .seconds(30)) }
        }
        let error = try #require(failure { _ in try await Sleeper().nap() })
        #expect(error.failure == .escape(.realTimeSleep(clock: "ContinuousClock")))
    }

    @Test("a loop that never sleeps hits the job limit")
    func jobLimit() throws {
        let error = try #require(
            failure(options: SchedulerOptions(maxJobs: 1000)) { _ in
                while true { await Task.yield() }
            })
        #expect(error.failure == .jobLimit(1000))
        #expect(error.traceTail.count == 64)
    }

    @Test("a loop that sleeps forever hits the simulated time limit")
    func timeLimit() throws {
        let error = try #require(
            failure(options: SchedulerOptions(maxSimulatedTime: .seconds(60))) { sim in
                while true { try await sim.clock.sleep(for: .seconds(1)) }
            })
        #expect(error.failure == .timeLimit(.seconds(60)))
        #expect(error.elapsed == .seconds(60))
    }

    @Test("an error thrown by the body fails the run and is kept")
    func bodyErrorIsReported() throws {
        struct Boom: Error {}
        let error = try #require(failure { _ in throw Boom() })
        #expect(error.underlying is Boom)
    }

    @Test("components' trace events feed the digest")
    func userEventsChangeDigest() throws {
        let plain = try SimScheduler.run(seed: 5) { _ in SimTrace.record("upload", 1) }
        let other = try SimScheduler.run(seed: 5) { _ in SimTrace.record("upload", 2) }
        let same = try SimScheduler.run(seed: 5) { _ in SimTrace.record("upload", 1) }
        #expect(plain.traceDigest != other.traceDigest)
        #expect(plain.traceDigest == same.traceDigest)
    }

    @Test("scheduler throughput (jobs per second) is reported")
    func throughput() throws {
        actor Hop {
            var count = 0
            func hit() { count += 1 }
        }
        let wallStart = ContinuousClock.now
        let result = try SimScheduler.run(seed: 9) { sim in
            let hop = Hop()
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        for step in 0..<500 {
                            if step % 10 == 0 { await hop.hit() } else { await Task.yield() }
                        }
                    }
                }
            }
            return await hop.count
        }
        let seconds =
            Double((ContinuousClock.now - wallStart).components.attoseconds) / 1e18
            + Double((ContinuousClock.now - wallStart).components.seconds)
        #expect(result.value == 10_000)
        print(
            "SimScheduler throughput: \(result.jobs) jobs in \(seconds) s = \(Int(Double(result.jobs) / seconds)) jobs/s"
        )
    }
}
