import Core
import Dispatch
import Foundation
import Logging
import SimHarness
import Testing

/// Stands in for the simulated disk and VFS (built elsewhere): these tests touch neither.
private struct UnusedFileSystem: FileSystem {
    struct Unused: Error {}
    func open(_ path: String, mode: FileOpenMode) async throws -> any Core.FileHandle { throw Unused() }
    func stat(_ path: String) async throws -> FileStat? { throw Unused() }
    func remove(_ path: String) async throws { throw Unused() }
    func removeTree(_ path: String) async throws { throw Unused() }
    func rename(_ source: String, to target: String) async throws { throw Unused() }
    func createDirectory(_ path: String) async throws { throw Unused() }
    func list(_ path: String) async throws -> [String] { throw Unused() }
    func syncDirectory(_ path: String) async throws { throw Unused() }
}

private struct UnusedOpener: SQLiteOpener {
    func open(_ path: String, options: SQLiteOpenOptions) async throws -> any SQLiteConnection {
        throw UnusedFileSystem.Unused()
    }
}

/// Lets a test resume a continuation from another thread.
// @unchecked: set before the other thread starts, then read only by it.
private final class ContinuationBox: @unchecked Sendable {
    var continuation: UnsafeContinuation<Void, Never>?
}

@Suite("Simulation environment", .serialized)
struct EnvironmentTests {
    private func environment(_ sim: SimScheduler, stream: String = "environment") -> Environment {
        SimEnvironment.make(
            scheduler: sim, fileSystem: UnusedFileSystem(), sqlite: UnusedOpener(), randomStream: stream,
            logger: SimLogHandler.logger(label: "test"))
    }

    @Test("Core's environment ports run on simulated time, seeded randomness and the simulator's spawner")
    func environmentIsSimulated() throws {
        let run = { (seed: UInt64) in
            try SimScheduler.run(seed: seed) { sim in
                let env = environment(sim)
                let generation = Generation.make(at: env.wallClock.now(), random: env.random)
                let background = env.spawner.spawn {
                    try await env.clock.sleep(for: .seconds(90))
                    return env.wallClock.now()
                }
                env.logger.info("waiting", metadata: ["b": "2", "a": "1"])
                let woke = try await background.value
                return (generation, woke)
            }
        }
        let first = try run(4)
        let replay = try run(4)
        let other = try run(5)
        #expect(first.value.0 == replay.value.0)
        #expect(first.value.0 != other.value.0, "generation IDs draw from the seed")
        #expect(first.value.0.creationTime == SimWallClock.defaultEpoch)
        #expect(first.value.1 == SimWallClock.defaultEpoch + .seconds(90))
        #expect(first.elapsed == .seconds(90))
        #expect(first.traceDigest == replay.traceDigest)
    }

    @Test("separate random streams of one seed are independent and stable")
    func randomStreams() throws {
        let result = try SimScheduler.run(seed: 9) { sim in
            (sim.randomSource("a").next(), sim.randomSource("a").next(), sim.randomSource("b").next())
        }
        #expect(result.value.0 == result.value.1)
        #expect(result.value.0 != result.value.2)
    }

    @Test("log messages enter the trace, so they show in a failure's tail")
    func logsAreTraced() throws {
        do {
            _ = try SimScheduler.run(seed: 2) { sim in
                let env = environment(sim)
                env.logger.warning("replica sync failed", metadata: ["replica": "sim://r", "failures": "3"])
                try await env.clock.sleep(for: .seconds(2))
                await withUnsafeContinuation { (_: UnsafeContinuation<Void, Never>) in }
            }
            Issue.record("the run should deadlock")
        } catch let error as SimRunError {
            #expect(error.failure == .deadlock)
            #expect(
                error.traceTail.contains {
                    $0.contains("log test warning replica sync failed failures=3 replica=sim://r")
                })
            #expect(error.report.contains("deadlock"))
        }
    }

    @Test("work resumed from another thread is an escape")
    func foreignThreadResumeEscapes() throws {
        do {
            _ = try SimScheduler.run(seed: 3) { sim in
                let box = ContinuationBox()
                let waiter = sim.spawner.spawn {
                    await withUnsafeContinuation { box.continuation = $0 }
                }
                while box.continuation == nil { await Task.yield() }
                // A callback thread resumes simulated work while the simulator thread waits for it.
                let done = DispatchSemaphore(value: 0)
                let thread = Thread {
                    box.continuation?.resume()
                    done.signal()
                }
                thread.start()
                done.wait()
                _ = try await waiter.value
            }
            Issue.record("the run should fail")
        } catch let error as SimRunError {
            #expect(error.failure == .escape(.foreignThreadEnqueue))
        }
    }
}
