import Core
import SQLite
import SimHarness
import Testing

/// Core's engine code doing file I/O on the simulated disk.
@Suite("ShadowWAL on SimDisk", .serialized)
struct ShadowWALOnSimDiskTests {
    @Test("ShadowWAL on SimDisk: copies exactly the committed WAL bytes SQLite wrote through SimVFS")
    func copiesCommittedBytes() async throws {
        let disk = SimDisk()
        let clock = ManualWallClock()
        let app = try TestProcess(disk: disk, name: "app", clock: clock, seed: 1)
        let replicator = try TestProcess(disk: disk, name: "replicator", clock: clock, seed: 2)
        let fs = replicator.fileSystem
        let connection = try await app.open("/db")
        _ = try await connection.query("PRAGMA journal_mode = wal")
        try await connection.setPersistentWAL(true)
        try await connection.execute("PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
        for _ in 0..<10 { _ = try await connection.query("INSERT INTO t (v) VALUES (randomblob(3000))") }
        let committed = try #require(try await fs.stat("/db-wal")).size

        // An open transaction spills uncommitted frames into the WAL; they must not be copied.
        try await connection.execute("PRAGMA cache_size = 2; BEGIN")
        for _ in 0..<100 { _ = try await connection.query("INSERT INTO t (v) VALUES (randomblob(2000))") }
        #expect(try #require(try await fs.stat("/db-wal")).size > committed)

        try await fs.createDirectory("/.db-sluice")
        let header = try #require(WALHeader(try await fs.readAll("/db-wal")))
        let shadow = try await ShadowWAL.create(path: "/.db-sluice/shadow.wal", header: header, fileSystem: fs)
        let wal = try await fs.open("/db-wal", mode: .readOnly)
        _ = try await shadow.copy(from: wal, walSize: try await wal.size(), chunkSize: 8192)
        #expect(shadow.size == committed)
        try await connection.execute("COMMIT")
        #expect(try await shadow.copy(from: wal, walSize: try await wal.size(), chunkSize: 8192) > 0)
        try await wal.close()
        await shadow.close()

        let walBytes = try await fs.readAll("/db-wal")
        let copied = try await fs.readAll("/.db-sluice/shadow.wal")
        #expect(Int64(copied.count) == shadow.size)
        #expect(Array(walBytes.prefix(copied.count)) == copied)
        #expect(walBytes.count == copied.count)
        await app.shutdown()
        await replicator.shutdown()
    }
}
