import Core
import SQLite
import Testing

@testable import SimHarness

/// Scenario: an app commit in the checkpoint's stall window (Litestream's class of bug: a gap
/// between validating or copying the WAL and acting on it). The replicator copies the WAL's
/// tail and checkpoints; if the copy ran before it held the write lock, a commit that landed in
/// between is backfilled into the database, the WAL restarts, and the closed shadow index lacks
/// it for good (invariant 9). Here the replicator's `BEGIN IMMEDIATE` is held back while the app
/// commits, which is what the simulator's preemption points do at random in swarm seeds.
@Suite("Scenario: a commit in the checkpoint's stall window", .serialized)
struct StallWindowTests {
    @Test("a commit that lands while the checkpoint waits for the write lock is in the shadow index the restart closes")
    func commitWhileCheckpointWaitsForWriteLock() async throws {
        try await runScenario(seed: 11) { world in
            let violations = Violations()
            let oracle = ShadowIndexOracle(state: LocalState(databasePath: ScenarioWorld.databasePath)) {
                violations.found.append($0)
            }
            world.disk.observe(oracle)
            let app = world.app
            try await app.create()
            for _ in 0..<5 { try await app.commit(inserts: 2) }

            let clock = world.scheduler.clock
            let node = try world.startNode("replicator")
            let gate = WriteLockGate(clock: clock)
            var environment = node.environment
            environment.sqlite = GatedOpener(base: node.opener, gate: gate)
            let database = ReplicatedDatabase(
                path: ScenarioWorld.databasePath, options: ScenarioWorld.options(),
                environment: environment)
            try await database.open()
            try await database.sync()
            for _ in 0..<5 { try await app.commit(inserts: 3) }

            gate.armed = true
            let checkpoint = world.scheduler.spawner.spawn {
                try await database.checkpoint(.passive(reason: "stall window"))
            }
            while !gate.holding { try await clock.sleep(for: .milliseconds(1)) }
            let inWindow = try await app.commit(inserts: 2)
            _ = try await checkpoint.value
            #expect(!gate.holding)

            // The checkpoint was complete: the next commit restarts the WAL, and the next sync
            // moves to the next index, which closes the one the commit in the window belongs to.
            let closedBefore = oracle.checkedIndexes
            try await app.commit(inserts: 1)
            try await database.sync()
            #expect(oracle.checkedIndexes == closedBefore + 1, "the sync should have closed a shadow index")
            #expect(violations.found.isEmpty, "commit \(inWindow) landed in the stall window: \(violations.found)")
            await database.close()
            world.disk.observe(nil)
        }
    }

    /// What the oracle reported; only the simulator's thread touches it.
    // @unchecked: touched only on the simulator's one thread.
    private final class Violations: @unchecked Sendable {
        var found: [InvariantViolation] = []
    }
}

/// Holds the next `BEGIN IMMEDIATE` back for 100 ms once armed.
// @unchecked: touched only on the simulator's one thread.
private final class WriteLockGate: @unchecked Sendable {
    let clock: SimClock
    var armed = false
    private(set) var holding = false

    init(clock: SimClock) { self.clock = clock }

    func before(_ sql: String) async throws {
        guard armed, sql == "BEGIN IMMEDIATE" else { return }
        armed = false
        holding = true
        defer { holding = false }
        try await clock.sleep(for: .milliseconds(100))
    }
}

private struct GatedOpener: SQLiteOpener {
    let base: any SQLiteOpener
    let gate: WriteLockGate

    func open(_ path: String, options: SQLiteOpenOptions) async throws -> any SQLiteConnection {
        GatedConnection(base: try await base.open(path, options: options), gate: gate)
    }
}

private final class GatedConnection: SQLiteConnection, Sendable {
    let base: any SQLiteConnection
    let gate: WriteLockGate

    init(base: any SQLiteConnection, gate: WriteLockGate) {
        self.base = base
        self.gate = gate
    }

    func execute(_ sql: String) async throws {
        try await gate.before(sql)
        try await base.execute(sql)
    }

    func query(_ sql: String, _ parameters: [SQLiteValue]) async throws -> [[SQLiteValue]] {
        try await base.query(sql, parameters)
    }

    func checkpoint(_ mode: CheckpointMode) async throws -> CheckpointResult { try await base.checkpoint(mode) }
    func setPersistentWAL(_ enabled: Bool) async throws { try await base.setPersistentWAL(enabled) }
    func close() async throws { try await base.close() }
}
