import Core
import SimHarness

/// Records the order in which simulated tasks reached their steps: the observable interleaving.
actor EventLog {
    private(set) var events: [String] = []
    func note(_ event: String) { events.append(event) }
}

/// A counter that calls back into another actor while isolated: actor hops and reentrancy.
actor HoppingCounter {
    private var value = 0
    func bump(_ tag: String, log: EventLog) async {
        value += 1
        let seen = value
        await log.note("\(tag)=\(seen)")
    }
}

/// A small world exercising every construct the engine uses: actors, task groups, `async let`,
/// yields, SimClock sleeps and unstructured tasks spawned through the injected `TaskSpawner`.
/// Returns the interleaving it observed.
func mixedWorkload(_ sim: SimScheduler) async throws -> [String] {
    let log = EventLog()
    let counter = HoppingCounter()
    let clock = sim.clock

    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<5 {
            group.addTask {
                for step in 0..<4 {
                    await counter.bump("g\(worker).\(step)", log: log)
                    if step % 2 == 0 {
                        await Task.yield()
                    } else {
                        try await clock.sleep(for: .milliseconds(worker % 3 + step))
                    }
                }
            }
        }
        try await group.waitForAll()
    }

    async let first: Int = {
        await log.note("let-a start")
        try await clock.sleep(for: .seconds(1))
        await counter.bump("let-a", log: log)
        return 1
    }()
    async let second: Int = {
        await log.note("let-b start")
        await Task.yield()
        await counter.bump("let-b", log: log)
        return 2
    }()

    let spawned = (0..<3).map { index in
        sim.spawner.spawn {
            try await clock.sleep(for: .milliseconds(index))
            await counter.bump("spawned\(index)", log: log)
            return index
        }
    }
    var total = try await first + second
    for task in spawned { total += try await task.value }
    await log.note("total=\(total)")
    return await log.events
}
