import Core
import Foundation
import SQLite
import Testing

@Suite("SQLiteDatabase")
struct SQLiteDatabaseTests {
    let opener = SQLiteDatabaseOpener(runner: InlineRunner())

    @Test("opening a missing file without create fails; with create makes it")
    func openCreate() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("db.sqlite")

        await #expect(throws: SQLiteError.self) {
            _ = try await opener.open(path, options: SQLiteOpenOptions(create: false))
        }
        #expect(!FileManager.default.fileExists(atPath: path))

        let db = try await opener.open(path, options: SQLiteOpenOptions(create: true))
        try await db.execute("CREATE TABLE t (x); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);")
        #expect(try await db.scalarInteger("SELECT count(*) FROM t") == 2)
        try await db.close()
        try await db.close() // idempotent
        #expect(FileManager.default.fileExists(atPath: path))

        await #expect(throws: SQLiteError.self) { try await db.execute("SELECT 1") }
    }

    @Test("query binds and returns every value type")
    func valueTypes() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await opener.open(dir.file("db.sqlite"), options: SQLiteOpenOptions(create: true))
        try await db.execute("CREATE TABLE v (a, b, c, d, e, f)")
        let text = "héllo \u{1F600} \"quoted\""
        let blob: [UInt8] = [0, 1, 2, 255, 0, 42]
        let row: [SQLiteValue] = [.null, .integer(Int64.min), .real(3.25), .text(text), .blob(blob), .blob([])]
        _ = try await db.query("INSERT INTO v VALUES (?, ?, ?, ?, ?, ?)", row)
        let rows = try await db.query("SELECT a, b, c, d, e, f FROM v")
        #expect(rows == [row])
        let types = try await db.query("SELECT typeof(a), typeof(e), typeof(f), length(f) FROM v")
        #expect(types == [[.text("null"), .text("blob"), .text("blob"), .integer(0)]])
        try await db.close()
    }

    @Test("wrong parameter counts and bad SQL fail with the SQL as context")
    func queryErrors() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await opener.open(dir.file("db.sqlite"), options: SQLiteOpenOptions(create: true))
        await #expect(throws: SQLiteError.self) { _ = try await db.query("SELECT ?", []) }
        do {
            _ = try await db.query("SELECT * FROM missing_table WHERE x = 1", [])
            Issue.record("expected an error")
        } catch let error as SQLiteError {
            #expect(error.code & 0xFF == 1) // SQLITE_ERROR
            #expect(error.message.contains("missing_table"))
            #expect(error.context.hasPrefix("SELECT * FROM missing_table"))
        }
        let long = "SELECT " + String(repeating: "1 + ", count: 100) + "nonsense_column"
        do {
            try await db.execute(long)
            Issue.record("expected an error")
        } catch let error as SQLiteError {
            #expect(error.context.count <= 80)
            #expect(error.message.contains("nonsense_column"))
        }
        try await db.close()
    }

    @Test("checkpoint on a WAL database reports the frames it copied")
    func checkpoint() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await opener.open(dir.file("db.sqlite"), options: SQLiteOpenOptions(create: true))
        #expect(try await db.query("PRAGMA journal_mode=WAL") == [[.text("wal")]])
        try await db.execute("PRAGMA wal_autocheckpoint=0; CREATE TABLE t (x)")
        for i in 0..<20 { _ = try await db.query("INSERT INTO t VALUES (?)", [.integer(Int64(i))]) }

        let passive = try await db.checkpoint(.passive)
        #expect(!passive.busy)
        #expect(passive.walFrames >= 20)
        #expect(passive.checkpointedFrames == passive.walFrames)

        let truncate = try await db.checkpoint(.truncate)
        #expect(!truncate.busy)
        #expect(truncate.walFrames == 0)
        let walSize = try FileManager.default.attributesOfItem(atPath: dir.file("db.sqlite-wal"))[.size] as? Int
        #expect(walSize == 0)
        try await db.close()
    }

    @Test("a checkpoint held up by a reader reports busy rather than failing")
    func checkpointBusy() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("db.sqlite")
        let writer = try await opener.open(path, options: SQLiteOpenOptions(create: true, busyTimeoutMilliseconds: 50))
        try await writer.execute(
            "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t (x); INSERT INTO t VALUES (1)")
        let reader = try await opener.open(path, options: SQLiteOpenOptions())
        try await reader.execute("BEGIN; SELECT count(*) FROM t;")
        _ = try await writer.query("INSERT INTO t VALUES (2)", [])

        let result = try await writer.checkpoint(.restart)
        #expect(result.busy)
        #expect(result.checkpointedFrames < result.walFrames)

        try await reader.execute("COMMIT")
        try await reader.close()
        try await writer.close()
    }

    @Test("persistent WAL keeps the -wal file after the last connection closes")
    func persistentWAL() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for persist in [false, true] {
            let path = dir.file("db-\(persist).sqlite")
            let db = try await opener.open(path, options: SQLiteOpenOptions(create: true))
            try await db.execute("PRAGMA journal_mode=WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1)")
            try await db.setPersistentWAL(persist)
            try await db.close()
            #expect(FileManager.default.fileExists(atPath: path + "-wal") == persist)
        }
    }

    @Test(
        "kept prepared statements: rebound on reuse, reset after an error, re-prepared after a schema change, keyed by bytes, past the cache limit, and finalized by close"
    )
    func statementReuse() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("db.sqlite")
        let db = try await opener.open(path, options: SQLiteOpenOptions(create: true))
        try await db.execute("PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)")
        let insert = "INSERT INTO t (id, v) VALUES (?, ?)"
        for id in 1...3 { _ = try await db.query(insert, [.integer(Int64(id)), .blob([UInt8(id)])]) }
        // The same text again, failing inside its step (a duplicate key), then reused.
        await #expect(throws: SQLiteError.self) { _ = try await db.query(insert, [.integer(2), .blob([9])]) }
        _ = try await db.query(insert, [.integer(4), .blob([4])])
        let select = "SELECT * FROM t WHERE id >= ? ORDER BY id"
        #expect(try await db.query(select, [.integer(3)]) == [[.integer(3), .blob([3])], [.integer(4), .blob([4])]])
        // Kept statements are reset, none active: VACUUM, which refuses to run beside an active
        // statement, goes through.
        #expect(try await db.query(select, [.integer(1)]).count == 4)
        try await db.execute("VACUUM")
        // A schema change: the kept `SELECT *` sees the new column.
        try await db.execute("ALTER TABLE t ADD COLUMN w INTEGER DEFAULT 7")
        #expect(try await db.query(select, [.integer(4)]) == [[.integer(4), .blob([4]), .integer(7)]])
        // Texts Swift calls equal (canonically equivalent) but SQLite reads as different bytes
        // get statements of their own.
        let composed = try await db.query("SELECT 'caf\u{E9}'").first?.first?.textValue
        let decomposed = try await db.query("SELECT 'cafe\u{301}'").first?.first?.textValue
        #expect(composed.map { Array($0.utf8) } == Array("caf\u{E9}".utf8))
        #expect(decomposed.map { Array($0.utf8) } == Array("cafe\u{301}".utf8))
        // More distinct texts than the cache keeps.
        for n in 0..<(SQLiteDatabase.statementCacheLimit + 8) {
            #expect(try await db.query("SELECT \(n) + ?", [.integer(1)]) == [[.integer(Int64(n) + 1)]])
        }
        #expect(try await db.query(select, [.integer(4)]).count == 1)
        // Closing finalizes the kept statements: the close is real, so SQLite removes the WAL.
        try await db.close()
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        await #expect(throws: SQLiteError.self) { _ = try await db.query(select, [.integer(1)]) }
    }

    @Test("a file that is not a database fails with isNotADatabase")
    func notADatabase() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("junk.db")
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        let db = try await opener.open(path, options: SQLiteOpenOptions())
        do {
            _ = try await db.query("SELECT count(*) FROM sqlite_master")
            Issue.record("expected SQLITE_NOTADB")
        } catch let error as SQLiteError {
            #expect(error.isNotADatabase, "\(error)")
        }
        try await db.close()
    }

    @Test("read-only connections refuse writes")
    func readOnly() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("db.sqlite")
        let db = try await opener.open(path, options: SQLiteOpenOptions(create: true))
        try await db.execute("CREATE TABLE t (x)")
        try await db.close()
        let reader = try await opener.open(path, options: SQLiteOpenOptions(readOnly: true))
        do {
            try await reader.execute("INSERT INTO t VALUES (1)")
            Issue.record("expected SQLITE_READONLY")
        } catch let error as SQLiteError {
            #expect(error.code & 0xFF == 8, "\(error)")
        }
        try await reader.close()
    }
}
