import Core
import SQLite
import SimHarness
import TestSupport
import Testing

/// Crash at every mutation of a short WAL workload, recover, and check SQLite's promises.
///
/// Goal: prove the disk's crash model and the VFS together keep what SQLite promises under
/// `synchronous = FULL`: after a power loss at *any* point, the database passes
/// `integrity_check` and holds every acknowledged commit, and nothing that was never committed
/// except possibly the one transaction in flight. Method: run the workload once to count its
/// mutations, then for every k re-run it on a fresh disk that loses power at mutation k+1, crash
/// with a seeded torn-write model, reopen in a new process and check.
@Suite("Crash sweep", .serialized)
struct CrashSweepTests {
    /// What the workload got acknowledged before the power went.
    struct Acknowledged {
        var present: Set<Int64> = []
        var deleted: Set<Int64> = []
        /// The transaction that was running when the power went: its rows may or may not be there.
        var inFlight: Set<Int64> = []
        var inFlightDeletes: Set<Int64> = []
    }

    static let setupSQL = """
        PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 8; PRAGMA cache_size = 8;
        CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)
        """

    /// Creates the database and makes its name durable; returns the mutation count after setup.
    static func setUp(_ disk: SimDisk, clock: ManualWallClock) async throws -> Int {
        let setup = try TestProcess(disk: disk, name: "setup", clock: clock, seed: 99)
        let connection = try await setup.open("/db")
        _ = try await connection.query("PRAGMA journal_mode = wal")
        try await connection.execute(setupSQL)
        await setup.shutdown()
        try disk.syncDirectory("/", by: disk.startProcess(named: "mkfs"))
        return disk.mutationCount
    }

    /// Two processes: the app commits 24 transactions (inserts of 3 KB blobs, some with an update
    /// of an earlier row, every fifth a delete); the other process checkpoints every sixth, in
    /// PASSIVE, RESTART and TRUNCATE mode in turn. Stops at the first error.
    static func workload(
        _ disk: SimDisk, clock: ManualWallClock, powersafeOverwrite: Bool = true,
        acknowledged: inout Acknowledged
    ) async {
        guard
            let app = try? TestProcess(
                disk: disk, name: "app", clock: clock, seed: 1, powersafeOverwrite: powersafeOverwrite),
            let other = try? TestProcess(
                disk: disk, name: "checkpointer", clock: clock, seed: 2,
                powersafeOverwrite: powersafeOverwrite)
        else { return }
        do {
            let a = try await app.open("/db")
            try await a.execute("PRAGMA synchronous = FULL; PRAGMA cache_size = 8")
            let b = try await other.open("/db")
            let modes: [CheckpointMode] = [.passive, .restart, .truncate]
            for index in Int64(1)...24 {
                acknowledged.inFlight = [index]
                acknowledged.inFlightDeletes = index % 5 == 0 ? [index - 3] : []
                if index % 5 == 0 {
                    try await a.execute(
                        "BEGIN; INSERT INTO t VALUES (\(index), zeroblob(3000)); DELETE FROM t WHERE id = \(index - 3); COMMIT"
                    )
                    acknowledged.deleted.insert(index - 3)
                    acknowledged.present.remove(index - 3)
                } else if index % 3 == 0 {
                    try await a.execute(
                        "BEGIN; INSERT INTO t VALUES (\(index), randomblob(3000)); UPDATE t SET v = zeroblob(4000) WHERE id = \(index - 1); COMMIT"
                    )
                } else {
                    _ = try await a.query("INSERT INTO t VALUES (?, randomblob(3000))", [.integer(index)])
                }
                acknowledged.present.insert(index)
                acknowledged.inFlight = []
                acknowledged.inFlightDeletes = []
                if index % 6 == 0 { _ = try await b.checkpoint(modes[Int(index / 6) % 3]) }
            }
        } catch {
            // The power went: what was acknowledged so far is the record.
        }
        await app.shutdown()
        await other.shutdown()
    }

    /// Reopens after the crash and returns what is wrong, or nil.
    static func check(_ disk: SimDisk, clock: ManualWallClock, acknowledged: Acknowledged) async throws -> String? {
        let recovery = try TestProcess(disk: disk, name: "recovery", clock: clock, seed: 3)
        let problem = try await findProblem(recovery, acknowledged: acknowledged)
        await recovery.shutdown()
        return problem
    }

    static func findProblem(_ recovery: TestProcess, acknowledged: Acknowledged) async throws -> String? {
        let connection = try await recovery.open("/db")
        let integrity = try await connection.text("PRAGMA integrity_check")
        guard integrity == "ok" else { return "integrity_check: \(integrity ?? "nil")" }
        let rows = Set(try await connection.integers("SELECT id FROM t"))
        let lost = acknowledged.present.subtracting(rows).subtracting(acknowledged.inFlightDeletes)
        if !lost.isEmpty { return "lost acknowledged rows \(lost.sorted())" }
        let resurrected = acknowledged.deleted.intersection(rows)
        if !resurrected.isEmpty { return "deleted rows came back \(resurrected.sorted())" }
        let unexpected = rows.subtracting(acknowledged.present).subtracting(acknowledged.inFlight)
            .subtracting(acknowledged.deleted)
        if !unexpected.isEmpty { return "rows never committed \(unexpected.sorted())" }
        return nil
    }

    @Test("Crash sweep: power loss at every mutation of a two-process WAL workload keeps every FULL commit")
    func sweep() async throws {
        try await blocking {
            let clock = ManualWallClock()
            // One clean run counts the workload's mutations.
            let probe = SimDisk()
            let base = try await Self.setUp(probe, clock: clock)
            var complete = Acknowledged()
            await Self.workload(probe, clock: clock, acknowledged: &complete)
            #expect(complete.present.count == 24 - 4)
            let total = probe.mutationCount - base
            #expect(total > 100)

            var failures: [String] = []
            var runs = 0
            let models = [
                DiskCrashModel(sectorSurvivalRate: 0, sizeChangeSurvivalRate: 0, directoryChangeSurvivalRate: 0),
                DiskCrashModel(sectorSurvivalRate: 0.5, sizeChangeSurvivalRate: 0.5, directoryChangeSurvivalRate: 0.5),
                DiskCrashModel(sectorSurvivalRate: 1, sizeChangeSurvivalRate: 1, directoryChangeSurvivalRate: 1),
                // Torn sectors full of garbage break powersafe overwrite; SQLite is told so.
                DiskCrashModel(
                    sectorSurvivalRate: 0.5, sectorGarbageRate: 0.5, sizeChangeSurvivalRate: 0.5,
                    directoryChangeSurvivalRate: 0.5, directoryMode: .journalPrefix),
            ]
            for k in 0...total {
                for (modelIndex, model) in models.enumerated() {
                    let disk = SimDisk()
                    let setupMutations = try await Self.setUp(disk, clock: clock)
                    disk.faults = DiskFaults(crashAfterMutations: setupMutations + k)
                    var acknowledged = Acknowledged()
                    await Self.workload(
                        disk, clock: clock, powersafeOverwrite: model.sectorGarbageRate == 0,
                        acknowledged: &acknowledged)
                    disk.crash(random: SplitMix64(seed: UInt64(k * 10 + modelIndex)), model: model)
                    disk.faults = .none // at k == total the workload finished before the trigger
                    if let problem = try await Self.check(disk, clock: clock, acknowledged: acknowledged) {
                        failures.append("k=\(k) model=\(modelIndex): \(problem)")
                    }
                    runs += 1
                }
            }
            #expect(failures.isEmpty, "\(failures.count) of \(runs) crash points failed, first: \(failures.prefix(5))")
            #expect(runs == (total + 1) * models.count)
        }
    }
}
