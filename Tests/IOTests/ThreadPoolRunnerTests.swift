import Core
import Foundation
import IO
import SQLite
import Testing

@Suite("ThreadPoolRunner")
struct ThreadPoolRunnerTests {
    @Test("runs work on its own threads only and returns its value or error")
    func valuesAndErrors() async throws {
        let runner = ThreadPoolRunner(threads: 2)
        let threads = try await withThrowingTaskGroup(of: UInt.self) { group in
            for _ in 0..<200 {
                group.addTask { try await runner.run { UInt(bitPattern: Int(bitPattern: pthread_self())) } }
            }
            return try await group.reduce(into: Set<UInt>()) { $0.insert($1) }
        }
        #expect((1...2).contains(threads.count))

        struct Boom: Error, Equatable {}
        await #expect(throws: Boom.self) { try await runner.run { () throws -> Int in throw Boom() } }
        #expect(try await runner.run { 41 + 1 } == 42)
    }

    @Test("blocking work on every thread runs in parallel, beyond the cooperative pool's width")
    func parallelism() async throws {
        // A rendezvous: each job blocks until all eight are inside the pool at once, which can
        // only happen if the pool really runs eight blocking calls in parallel (the cooperative
        // pool here is two threads wide). The bound is a deadlock guard, not a speed check.
        let width = 8
        let runner = ThreadPoolRunner(threads: width)
        let arrived = NSCondition()
        // nonisolated(unsafe): guarded by `arrived`.
        nonisolated(unsafe) var count = 0
        let met = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<width {
                group.addTask {
                    try await runner.run { () -> Bool in
                        arrived.lock()
                        defer { arrived.unlock() }
                        count += 1
                        arrived.broadcast()
                        let deadline = Date().addingTimeInterval(30)
                        while count < width {
                            if !arrived.wait(until: deadline) { return false }
                        }
                        return true
                    }
                }
            }
            return try await group.reduce(true) { $0 && $1 }
        }
        #expect(met, "only \(count) of \(width) jobs were ever running at once")
    }

    @Test("a task that prefers the pool runs there, and its blocking calls run in place without a handoff")
    func executorPreference() async throws {
        let runner = ThreadPoolRunner(threads: 2)
        #expect(!runner.isCurrent)
        let (caller, callee, onPool) = try await withTaskExecutorPreference(runner) {
            // The closure starts where the caller was; its first suspension lands it on the pool.
            await Task.yield()
            let caller = UInt(bitPattern: Int(bitPattern: pthread_self()))
            let callee = try await runner.run { UInt(bitPattern: Int(bitPattern: pthread_self())) }
            return (caller, callee, runner.isCurrent)
        }
        #expect(onPool)
        #expect(caller == callee, "the body ran on the calling pool thread")

        // Another pool's calls still hand off: network transfers keep their own threads.
        let other = ThreadPoolRunner(threads: 1)
        let handedOff = try await withTaskExecutorPreference(runner) {
            try await other.run { !runner.isCurrent && other.isCurrent }
        }
        #expect(handedOff)
    }

    @Test("jobs that pool tasks queue for each other all run, without waking another thread for each")
    func jobsQueuedFromThePool() async throws {
        let runner = ThreadPoolRunner(threads: 3)
        // Many tasks bouncing between the pool and an actor: every hop is a job queued from a
        // pool thread. None may be stranded.
        actor Counter {
            var value = 0
            func add() { value += 1 }
        }
        let counter = Counter()
        try await withTaskExecutorPreference(runner) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        for _ in 0..<20 {
                            await counter.add()
                            _ = try await runner.run { 1 }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        #expect(await counter.value == 1000)
    }

    @Test("sleeps of tasks that prefer the pool wait in its timers, end no earlier than asked and in deadline order")
    func sleeps() async throws {
        let runner = ThreadPoolRunner(threads: 2)
        try await checkSleeps(on: runner, clock: ContinuousClock())
    }

    @Test("PoolClock sleeps end no earlier than asked, in deadline order, resumed on the pool")
    func poolClockSleeps() async throws {
        let runner = ThreadPoolRunner(threads: 2)
        try await checkSleeps(on: runner, clock: PoolClock(runner: runner))
    }

    /// Four sleeps to deadlines 500 ms apart, from one start, by tasks that prefer `runner` end
    /// in deadline order, none early, each resumed on the pool. The deadlines are absolute, so a
    /// task that starts late on a loaded machine still wakes at its own.
    private func checkSleeps<C: Clock<Duration>>(on runner: ThreadPoolRunner, clock: C) async throws {
        let start = clock.now
        let order = try await withTaskExecutorPreference(runner) {
            try await withThrowingTaskGroup(of: (Int, Duration, Bool).self) { group in
                for milliseconds in [1500, 500, 1000, 0] {
                    group.addTask {
                        try await clock.sleep(until: start.advanced(by: .milliseconds(milliseconds)), tolerance: nil)
                        return (milliseconds, start.duration(to: clock.now), runner.isCurrent)
                    }
                }
                var finished: [Int] = []
                for try await (milliseconds, slept, onPool) in group {
                    #expect(slept >= .milliseconds(milliseconds), "woke after \(slept) of \(milliseconds) ms")
                    #expect(onPool, "resumed on the pool")
                    finished.append(milliseconds)
                }
                return finished
            }
        }
        #expect(order == [0, 500, 1000, 1500])
    }

    @Test("a PoolClock sleep ends with CancellationError when its task is cancelled, before or during it")
    func poolClockCancellation() async throws {
        let runner = ThreadPoolRunner(threads: 2)
        let clock = PoolClock(runner: runner)
        let started = ContinuousClock.now
        let sleeper = Task(executorPreference: runner) { try await clock.sleep(for: .seconds(600)) }
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        let during = Task(executorPreference: runner) { try await clock.sleep(for: .seconds(600)) }
        while runner.timerCount == 0 { await Task.yield() }
        during.cancel()
        await #expect(throws: CancellationError.self) { try await during.value }
        #expect(runner.timerCount == 0, "the cancelled sleep's timer is dropped, not left to fire")
        #expect(started.duration(to: .now) < .seconds(60), "a cancelled sleep returns at once")
    }

    @Test("many small jobs all complete with the right results")
    func manyJobs() async throws {
        let runner = ThreadPoolRunner(threads: 4)
        let sum = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<1000 { group.addTask { try await runner.run { i * 2 } } }
            return try await group.reduce(0, +)
        }
        #expect(sum == 999 * 1000)
    }

    @Test("the SQLite binding works through the pool")
    func sqliteThroughPool() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let opener = SQLiteDatabaseOpener(runner: ThreadPoolRunner(threads: 2))
        let db = try await opener.open(dir.file("db.sqlite"), options: SQLiteOpenOptions(create: true))
        try await db.execute("PRAGMA journal_mode=WAL; CREATE TABLE t (x)")
        for i in 0..<50 { _ = try await db.query("INSERT INTO t VALUES (?)", [.integer(Int64(i))]) }
        #expect(try await db.scalarInteger("SELECT sum(x) FROM t") == 49 * 50 / 2)
        try await db.close()
    }
}
