import Core
import SQLite
import SimHarness
import Testing

/// Core's engine code doing file I/O on the simulated disk.
@Suite("ShadowWAL on SimDisk", .serialized)
struct ShadowWALOnSimDiskTests {
    /// An app and a replicator process on one disk, and the app's connection to `/db` in WAL mode
    /// with auto-checkpoints off, holding `rows` rows of 3000 bytes.
    private static func world(rows: Int) async throws -> (
        app: TestProcess, replicator: TestProcess, connection: any SQLiteConnection
    ) {
        let disk = SimDisk()
        let clock = ManualWallClock()
        let app = try TestProcess(disk: disk, name: "app", clock: clock, seed: 1)
        let replicator = try TestProcess(disk: disk, name: "replicator", clock: clock, seed: 2)
        let connection = try await app.open("/db")
        _ = try await connection.query("PRAGMA journal_mode = wal")
        try await connection.setPersistentWAL(true)
        try await connection.execute("PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
        for _ in 0..<rows { _ = try await connection.query("INSERT INTO t (v) VALUES (randomblob(3000))") }
        return (app, replicator, connection)
    }

    @Test("ShadowWAL on SimDisk: copies exactly the committed WAL bytes SQLite wrote through SimVFS")
    func copiesCommittedBytes() async throws {
        let (app, replicator, connection) = try await Self.world(rows: 10)
        let fs = replicator.fileSystem
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

    @Test("ShadowWAL on SimDisk: a pass over a restarted WAL reads about what is new, not a chunk of stale frames")
    func restartedWALReadsLittle() async throws {
        let (app, replicator, connection) = try await Self.world(rows: 200)
        let fs = replicator.fileSystem
        // Checkpoint everything, then one commit: SQLite restarts the WAL from its start and the
        // file keeps its size, the old lifetime's frames behind the new ones.
        _ = try await connection.checkpoint(.passive)
        _ = try await connection.query("INSERT INTO t (v) VALUES (randomblob(100))")
        let walSize = try #require(try await fs.stat("/db-wal")).size
        #expect(walSize > 500_000)

        try await fs.createDirectory("/.db-sluice")
        let header = try #require(WALHeader(try await fs.readAll("/db-wal")))
        let shadow = try await ShadowWAL.create(path: "/.db-sluice/shadow.wal", header: header, fileSystem: fs)
        let wal = CountingFileHandle(try await fs.open("/db-wal", mode: .readOnly))
        #expect(try await shadow.copy(from: wal, walSize: walSize, chunkSize: 1 << 20) > 0)
        let frameSize = Int64(header.frameSize)
        let newFrames = (shadow.size - Int64(WALFormat.headerSize)) / frameSize
        #expect(newFrames > 0 && newFrames < 8)
        // The first read of a pass asks for 8 frames: a whole chunk was 1 MiB of stale frames.
        #expect(
            wal.bytesRead <= Int64(ShadowWAL.firstReadFrames) * frameSize,
            "read \(wal.bytesRead) bytes to copy \(newFrames) frames")
        try await wal.close()
        await shadow.close()
        await app.shutdown()
        await replicator.shutdown()
    }
}

/// A file handle that counts the bytes read through it.
// @unchecked: used by one task at a time.
final class CountingFileHandle: FileHandle, @unchecked Sendable {
    let base: any FileHandle
    private(set) var bytesRead: Int64 = 0
    init(_ base: any FileHandle) { self.base = base }
    var path: String { base.path }
    func read(at offset: Int64, count: Int) async throws -> [UInt8] {
        let bytes = try await base.read(at: offset, count: count)
        bytesRead += Int64(bytes.count)
        return bytes
    }
    func write(_ bytes: [UInt8], at offset: Int64) async throws { try await base.write(bytes, at: offset) }
    func size() async throws -> Int64 { try await base.size() }
    func truncate(to size: Int64) async throws { try await base.truncate(to: size) }
    func sync() async throws { try await base.sync() }
    func close() async throws { try await base.close() }
}
