import Core
import Testing

@testable import SimHarness

/// Invariant 7's judge on its own: a new generation needs a cause the world produced.
@Suite("GenerationLedger")
struct GenerationLedgerTests {
    let disk = SimDisk(wallClock: { Timestamp(millisecondsSince1970: 1_234_000) })
    let first = Generation("0190a1b2c3d4e5f6")!
    let second = Generation("0190a1b2c3d4e5f7")!

    private func write(_ path: String, _ bytes: [UInt8]) throws {
        let process = disk.startProcess(named: "writer")
        let descriptor = try disk.open(path, mode: .truncate, by: process)
        try disk.write(descriptor, bytes, at: 0)
        disk.kill(process)
    }

    /// A ledger that saw the run's first generation and a replicator end as `clean` says.
    private func ledger(faults: @escaping () -> Int = { 0 }, clean: Bool) throws -> GenerationLedger {
        try write("/db", [UInt8](repeating: 7, count: 4096))
        let ledger = GenerationLedger(disk: disk, databasePath: "/db", injectedFaults: faults)
        ledger.replicatorStarted()
        ledger.observe(.started(first, reason: "no generation exists"))
        ledger.replicatorEnded(clean: clean)
        ledger.replicatorStarted()
        return ledger
    }

    @Test("a new generation after a clean stop that left the source as it was is needless")
    func needless() throws {
        let ledger = try ledger(clean: true)
        #expect(ledger.violation == nil, "the run's first generation needs no cause")
        ledger.observe(.started(second, reason: "no generation exists"))
        #expect(ledger.violation?.name == InvariantViolation.needlessGeneration("").name)
        #expect(ledger.started == 2)
    }

    @Test("a continued generation needs no cause")
    func continued() throws {
        let ledger = try ledger(clean: true)
        ledger.observe(.continued(first))
        #expect(ledger.violation == nil)
        #expect(ledger.continued == 1)
    }

    @Test("a database file changed while no replicator ran, a power loss or a disk fault is a cause")
    func causes() throws {
        let changed = try ledger(clean: true)
        try write("/db", [UInt8](repeating: 8, count: 4096))
        changed.observe(.started(second, reason: "WAL header changed"))
        #expect(changed.violation == nil)

        let powerLoss = try ledger(clean: true)
        powerLoss.note("power loss")
        powerLoss.observe(.started(second, reason: "WAL truncated"))
        #expect(powerLoss.violation == nil)

        var injected = 0
        let faulty = try ledger(faults: { injected }, clean: true)
        injected = 3
        faulty.observe(.started(second, reason: "shadow unusable"))
        #expect(faulty.violation == nil)
    }

    @Test("after a kill the empty WAL proves nothing: a new generation is allowed")
    func afterKill() throws {
        let ledger = try ledger(clean: false)
        ledger.observe(.started(second, reason: "WAL was checkpointed and truncated"))
        #expect(ledger.violation == nil)
    }
}
