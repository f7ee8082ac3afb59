import Core
import SQLite
import SimHarness
import Testing

/// Real SQLite over the simulated disk through `SimVFS`.
@Suite("SimVFS", .serialized)
struct SimVFSTests {
    @Test("SimVFS: two processes in WAL mode see each other's commits; a TRUNCATE checkpoint empties the WAL")
    func walTwoConnections() async throws {
        let disk = SimDisk()
        let clock = ManualWallClock()
        let writer = try TestProcess(disk: disk, name: "writer", clock: clock, seed: 1)
        let reader = try TestProcess(disk: disk, name: "reader", clock: clock, seed: 2)
        let a = try await writer.open("/db")
        #expect(try await a.text("PRAGMA journal_mode = wal") == "wal")
        try await a.execute("PRAGMA synchronous = FULL; CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
        let b = try await reader.open("/db")
        for index in 1...30 {
            _ = try await a.query("INSERT INTO t (v) VALUES (zeroblob(3000))")
            if index % 10 == 0 { #expect(try await b.scalarInteger("SELECT count(*) FROM t") == Int64(index)) }
        }
        let walSize = try #require(try disk.stat("/db-wal", by: writer.process)).size
        #expect(walSize > 30 * 3000)
        let result = try await b.checkpoint(.truncate)
        #expect(result == CheckpointResult(busy: false, walFrames: 0, checkpointedFrames: 0))
        #expect(try disk.stat("/db-wal", by: writer.process)?.size == 0)
        #expect(try #require(try disk.stat("/db", by: writer.process)).size > 30 * 3000)
        _ = try await a.query("INSERT INTO t (v) VALUES (zeroblob(10))")
        #expect(try await b.scalarInteger("SELECT count(*) FROM t") == 31)
        #expect(try await b.text("PRAGMA integrity_check") == "ok")
        await writer.shutdown()
        await reader.shutdown()
    }

    @Test("SimVFS: a busy writer gets SQLITE_BUSY at once, and xSleep advances simulated time only")
    func busyAndSleep() async throws {
        let disk = SimDisk()
        let clock = ManualWallClock()
        let first = try TestProcess(disk: disk, name: "first", clock: clock, seed: 1)
        let second = try TestProcess(disk: disk, name: "second", clock: clock, seed: 2)
        let a = try await first.open("/db")
        _ = try await a.query("PRAGMA journal_mode = wal")
        try await a.execute("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1)")
        let b = try await second.open("/db", busyTimeoutMilliseconds: 2000)
        let before = clock.now()
        await #expect(throws: SQLiteError.self) { try await b.execute("INSERT INTO t VALUES (2)") }
        let waited = clock.now() - before
        #expect(waited >= .milliseconds(1900) && waited <= .milliseconds(2200))
        try await a.execute("COMMIT")
        try await b.execute("INSERT INTO t VALUES (2)")
        #expect(try await a.scalarInteger("SELECT count(*) FROM t") == 2)
        await first.shutdown()
        await second.shutdown()
    }

    @Test("SimVFS: closing another descriptor of the database drops SQLite's lock in that process")
    func shortLivedCloseDropsLock() async throws {
        // Goal: reproduce the hazard behind "never close a descriptor of the database file": in
        // rollback-journal mode a reader's SHARED lock keeps writers from committing; once the
        // reader's process opens and closes the database file on its own, the lock is gone and a
        // writer commits under the reader's open transaction.
        let disk = SimDisk()
        let clock = ManualWallClock()
        let replicator = try TestProcess(disk: disk, name: "replicator", clock: clock, seed: 1)
        let app = try TestProcess(disk: disk, name: "app", clock: clock, seed: 2)
        let writer = try await app.open("/db")
        try await writer.execute("CREATE TABLE t (x); INSERT INTO t VALUES (1)")
        let reader = try await replicator.open("/db")
        try await reader.execute("BEGIN")
        #expect(try await reader.scalarInteger("SELECT count(*) FROM t") == 1)
        await #expect(throws: SQLiteError.self) { try await writer.execute("INSERT INTO t VALUES (2)") }

        let handle = try await replicator.fileSystem.open("/db", mode: .readOnly)
        _ = try await handle.size()
        try await handle.close()
        try await writer.execute("INSERT INTO t VALUES (2)")
        try await reader.execute("COMMIT")
        #expect(try await reader.scalarInteger("SELECT count(*) FROM t") == 2)
        await replicator.shutdown()
        await app.shutdown()
    }

    @Test("SimVFS: killing a process releases its locks; its connections fail instead of crashing")
    func killProcess() async throws {
        let disk = SimDisk()
        let clock = ManualWallClock()
        let victim = try TestProcess(disk: disk, name: "victim", clock: clock, seed: 1)
        let survivor = try TestProcess(disk: disk, name: "survivor", clock: clock, seed: 2)
        let a = try await victim.open("/db")
        _ = try await a.query("PRAGMA journal_mode = wal")
        try await a.execute("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1)")
        let b = try await survivor.open("/db")
        await #expect(throws: SQLiteError.self) { try await b.execute("INSERT INTO t VALUES (2)") }
        disk.kill(victim.process)
        await #expect(throws: SQLiteError.self) { try await a.execute("COMMIT") }
        try await b.execute("INSERT INTO t VALUES (2)")
        #expect(try await b.integers("SELECT x FROM t") == [2])
        #expect(try await b.text("PRAGMA integrity_check") == "ok")
        await victim.shutdown()
        await survivor.shutdown()
    }

    @Test("SimVFS: persistent WAL keeps the -wal file after the last connection closes")
    func persistentWAL() async throws {
        let disk = SimDisk()
        let clock = ManualWallClock()
        let owner = try TestProcess(disk: disk, name: "owner", clock: clock, seed: 1)
        let connection = try await owner.open("/db")
        _ = try await connection.query("PRAGMA journal_mode = wal")
        try await connection.execute("CREATE TABLE t (x)")
        try await connection.setPersistentWAL(true)
        try await connection.close()
        #expect(try disk.stat("/db-wal", by: owner.process) != nil)
        let plain = try await owner.open("/db")
        _ = try await plain.query("SELECT * FROM t")
        try await plain.close()
        #expect(try disk.stat("/db-wal", by: owner.process) == nil)
        await owner.shutdown()
    }
}
