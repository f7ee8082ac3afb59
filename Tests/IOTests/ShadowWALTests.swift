import Core
import Foundation
import IO
import Logging
import Testing

/// The shadow WAL against WAL files written by real SQLite.
@Suite("Shadow WAL")
struct ShadowWALTests {
    let environment = ProductionEnvironment.make(logger: Logger(label: "test"))

    /// A WAL-mode database whose app connection keeps the -wal file and never checkpoints.
    func makeDatabase(_ dir: TemporaryDirectory) async throws -> any SQLiteConnection {
        let app = try await environment.sqlite.open(dir.file("db"), options: SQLiteOpenOptions(create: true))
        _ = try await app.query("PRAGMA journal_mode = wal")
        try await app.setPersistentWAL(true)
        try await app.execute("PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
        return app
    }

    func walHeader(_ dir: TemporaryDirectory) async throws -> WALHeader {
        try #require(WALHeader(try await environment.fileSystem.readAll(dir.file("db-wal"))))
    }

    func copy(into shadow: ShadowWAL, from dir: TemporaryDirectory) async throws -> Int {
        let wal = try await environment.fileSystem.open(dir.file("db-wal"), mode: .readOnly)
        let copied = try await shadow.copy(from: wal, walSize: try await wal.size(), chunkSize: 8192)
        try await wal.close()
        return copied
    }

    @Test("copies exactly the WAL's committed bytes, never frames of an open transaction")
    func committedOnly() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let app = try await makeDatabase(dir)
        let shadow = try await ShadowWAL.create(
            path: dir.file("shadow.wal"), header: try await walHeader(dir),
            fileSystem: environment.fileSystem)
        _ = try await app.query("INSERT INTO t (v) VALUES (randomblob(100))")
        let committedSize = try #require(try await environment.fileSystem.stat(dir.file("db-wal"))).size

        // A transaction big enough to spill uncommitted frames into the WAL before COMMIT.
        try await app.execute("PRAGMA cache_size = 2; BEGIN")
        for _ in 0..<200 { _ = try await app.query("INSERT INTO t (v) VALUES (randomblob(2000))") }
        let spilled = try #require(try await environment.fileSystem.stat(dir.file("db-wal"))).size
        #expect(spilled > committedSize)
        _ = try await copy(into: shadow, from: dir)
        #expect(shadow.size == committedSize)
        #expect(try #require(try await environment.fileSystem.stat(dir.file("shadow.wal"))).size == committedSize)

        try await app.execute("COMMIT")
        #expect(try await copy(into: shadow, from: dir) > 0)
        let wal = try await environment.fileSystem.readAll(dir.file("db-wal"))
        let copied = try await environment.fileSystem.readAll(dir.file("shadow.wal"))
        #expect(Int64(copied.count) == shadow.size)
        #expect(Array(wal.prefix(copied.count)) == copied)
        #expect(shadow.lastFrame == Array(copied.suffix(24 + 4096)))
        try await app.close()
    }

    @Test("re-opening cuts a torn or uncommitted tail and recovers the running checksum")
    func reopen() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let app = try await makeDatabase(dir)
        for _ in 0..<5 { _ = try await app.query("INSERT INTO t (v) VALUES (randomblob(3000))") }
        let path = dir.file("shadow.wal")
        let shadow = try await ShadowWAL.create(
            path: path, header: try await walHeader(dir), fileSystem: environment.fileSystem)
        _ = try await copy(into: shadow, from: dir)
        let size = shadow.size
        let checksum = shadow.checksum
        await shadow.close()

        // A crash mid-append leaves half a frame behind.
        let handle = try await environment.fileSystem.open(path, mode: .readWrite)
        try await handle.write([UInt8](repeating: 7, count: 3000), at: size)
        try await handle.close()

        let reopened = try await ShadowWAL.open(path: path, fileSystem: environment.fileSystem, chunkSize: 4096)
        #expect(reopened.size == size)
        #expect(reopened.checksum == checksum)
        #expect(try #require(try await environment.fileSystem.stat(path)).size == size)

        // And it continues where it stopped.
        _ = try await app.query("INSERT INTO t (v) VALUES (randomblob(10))")
        #expect(try await copy(into: reopened, from: dir) >= 1)
        let wal = try await environment.fileSystem.readAll(dir.file("db-wal"))
        let copied = try await environment.fileSystem.readAll(path)
        #expect(Array(wal.prefix(copied.count)) == copied)
        try await app.close()
    }

    @Test("re-opening a shadow whose every third read fails validates all of it, going on after each error")
    func reopenUnderReadErrors() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let app = try await makeDatabase(dir)
        for _ in 0..<30 { _ = try await app.query("INSERT INTO t (v) VALUES (randomblob(3000))") }
        let path = dir.file("shadow.wal")
        let shadow = try await ShadowWAL.create(
            path: path, header: try await walHeader(dir), fileSystem: environment.fileSystem)
        _ = try await copy(into: shadow, from: dir)
        let (size, checksum, lastFrame) = (shadow.size, shadow.checksum, shadow.lastFrame)
        await shadow.close()

        // Four frames per read, every third read failing: each try validates a few transactions
        // (of two or three frames each). Rescanned from the header after each error, the scan
        // never got past the first eight frames.
        let flaky = FailingReadsFileSystem(base: environment.fileSystem, every: 3)
        let reopened = try await ShadowWAL.open(path: path, fileSystem: flaky, chunkSize: 4 * (4096 + 24))
        #expect(reopened.size == size)
        #expect(reopened.checksum == checksum)
        #expect(reopened.lastFrame == lastFrame)
        #expect(try #require(try await environment.fileSystem.stat(path)).size == size)
        await reopened.close()
        try await app.close()
    }

    @Test("a shadow without a valid header is reported, not guessed at")
    func corruptHeader() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await environment.fileSystem.writeAtomically(Array("not a wal".utf8), to: dir.file("shadow.wal"))
        await #expect(throws: ReplicationError.self) {
            _ = try await ShadowWAL.open(
                path: dir.file("shadow.wal"), fileSystem: environment.fileSystem, chunkSize: 4096)
        }
    }

    @Test(
        "an I/O error part way through a pass keeps the transactions already copied whole, and the next pass goes on from there"
    )
    func errorKeepsCommittedProgress() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let app = try await makeDatabase(dir)
        for _ in 0..<10 { _ = try await app.query("INSERT INTO t (v) VALUES (randomblob(100))") }
        let walBytes = try await environment.fileSystem.readAll(dir.file("db-wal"))
        let frameSize = 24 + 4096
        let commitEnds = stride(from: 32, to: walBytes.count, by: frameSize).compactMap { start -> Int? in
            // A commit frame stores the database size in pages (non-zero) at offset 4 of its header.
            walBytes[(start + 4)..<(start + 8)].contains { $0 != 0 } ? start + frameSize : nil
        }
        #expect(commitEnds.count == 11, "the CREATE TABLE and ten inserts")

        let shadow = try await ShadowWAL.create(
            path: dir.file("shadow.wal"), header: try await walHeader(dir),
            fileSystem: environment.fileSystem)
        // The source fails on its fourth read of one frame: three frames were read and copied.
        let wal = try await environment.fileSystem.open(dir.file("db-wal"), mode: .readOnly)
        let failing = FailingReads(base: wal, failAt: 4)
        await #expect(throws: FailingReads.Injected.self) {
            _ = try await shadow.copy(from: failing, walSize: Int64(walBytes.count), chunkSize: frameSize)
        }
        let kept = try #require(commitEnds.last { $0 <= 32 + 3 * frameSize })
        #expect(shadow.size == Int64(kept), "the transactions copied whole before the error are kept")
        #expect(try #require(try await environment.fileSystem.stat(dir.file("shadow.wal"))).size == Int64(kept))
        #expect(shadow.lastFrame == Array(walBytes[(kept - frameSize)..<kept]))

        // The next pass copies the rest, starting where the failed one left off.
        let copied = try await shadow.copy(from: wal, walSize: Int64(walBytes.count), chunkSize: frameSize)
        #expect(copied == (walBytes.count - kept) / frameSize)
        #expect(try await environment.fileSystem.readAll(dir.file("shadow.wal")) == walBytes)
        try await wal.close()
        try await app.close()
    }

    @Test(
        "a transaction longer than what one pass copies between two I/O errors is still copied: each pass goes on where the last stopped"
    )
    func largeTransactionUnderSteadyErrors() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let app = try await makeDatabase(dir)
        try await app.execute("BEGIN")
        for _ in 0..<60 { _ = try await app.query("INSERT INTO t (v) VALUES (randomblob(3000))") }
        try await app.execute("COMMIT")
        let walBytes = try await environment.fileSystem.readAll(dir.file("db-wal"))
        let frameSize = 24 + 4096
        #expect(walBytes.count > 32 + 40 * frameSize, "one transaction of many frames")

        let shadow = try await ShadowWAL.create(
            path: dir.file("shadow.wal"), header: try await walHeader(dir),
            fileSystem: environment.fileSystem)
        let wal = try await environment.fileSystem.open(dir.file("db-wal"), mode: .readOnly)
        // Every seventh read fails, so no pass reads more than six frames: a pass that started
        // over at the last commit would never reach the end of the transaction.
        let failing = FailingReads(base: wal, failAt: 7, repeating: true)
        var passes = 0
        while shadow.size < Int64(walBytes.count), passes < 200 {
            passes += 1
            _ = try? await shadow.copy(from: failing, walSize: Int64(walBytes.count), chunkSize: frameSize)
        }
        #expect(
            shadow.size == Int64(walBytes.count),
            "after \(passes) passes the shadow holds \(shadow.size) of \(walBytes.count) bytes")
        #expect(try await environment.fileSystem.readAll(dir.file("shadow.wal")) == walBytes)
        #expect(shadow.lastFrame == Array(walBytes.suffix(frameSize)))
        try await wal.close()
        try await app.close()
    }

    @Test("a pass stopped inside a transaction that SQLite then rolled back starts that transaction over")
    func partialTransactionRolledBack() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let app = try await makeDatabase(dir)
        _ = try await app.query("INSERT INTO t (v) VALUES (randomblob(100))")
        let committed = try await environment.fileSystem.readAll(dir.file("db-wal"))
        // A transaction big enough to spill uncommitted frames into the WAL.
        try await app.execute("PRAGMA cache_size = 2; BEGIN")
        for _ in 0..<40 { _ = try await app.query("INSERT INTO t (v) VALUES (randomblob(3000))") }
        let spilled = try await environment.fileSystem.readAll(dir.file("db-wal"))
        #expect(spilled.count > committed.count + 8 * (24 + 4096))

        let shadow = try await ShadowWAL.create(
            path: dir.file("shadow.wal"), header: try await walHeader(dir),
            fileSystem: environment.fileSystem)
        let wal = try await environment.fileSystem.open(dir.file("db-wal"), mode: .readOnly)
        // The pass writes the spilled frames, one per flush, and fails part way through them.
        await #expect(throws: FailingReads.Injected.self) {
            _ = try await shadow.copy(
                from: FailingReads(base: wal, failAt: 6), walSize: Int64(spilled.count), chunkSize: 24 + 4096)
        }
        #expect(shadow.size == Int64(committed.count))

        // SQLite rolls the transaction back and writes another one over the same frames.
        try await app.execute("ROLLBACK")
        try await app.execute("BEGIN")
        for _ in 0..<3 { _ = try await app.query("INSERT INTO t (v) VALUES (randomblob(50))") }
        try await app.execute("COMMIT")
        let now = try await environment.fileSystem.readAll(dir.file("db-wal"))
        let end = try #require(Self.lastCommitEnd(now))
        _ = try await shadow.copy(from: wal, walSize: Int64(now.count), chunkSize: 24 + 4096)
        #expect(shadow.size == Int64(end))
        #expect(try await environment.fileSystem.readAll(dir.file("shadow.wal")) == Array(now.prefix(end)))
        // Moving on to the next index leaves the file at its committed end.
        await shadow.close()
        #expect(try #require(try await environment.fileSystem.stat(dir.file("shadow.wal"))).size == Int64(end))
        try await wal.close()
        try await app.close()
    }

    /// The end of the last commit frame of a 4 KiB-page WAL image whose frames all validate.
    private static func lastCommitEnd(_ wal: [UInt8]) -> Int? {
        guard let header = WALHeader(wal) else { return nil }
        var validator = WALFrameValidator(header: header)
        var end: Int?
        var offset = 32
        while offset + header.frameSize <= wal.count,
            let frame = validator.accept(wal[offset..<(offset + header.frameSize)])
        {
            offset += header.frameSize
            if frame.isCommit { end = offset }
        }
        return end
    }

    /// A source whose reads fail on a schedule.
    /// The file system, with every handle it opens failing every `every`-th read.
    private struct FailingReadsFileSystem: Core.FileSystem {
        let base: any Core.FileSystem
        let every: Int
        func open(_ path: String, mode: FileOpenMode) async throws -> any Core.FileHandle {
            FailingReads(base: try await base.open(path, mode: mode), failAt: every, repeating: true)
        }
        func stat(_ path: String) async throws -> FileStat? { try await base.stat(path) }
        func remove(_ path: String) async throws { try await base.remove(path) }
        func removeTree(_ path: String) async throws { try await base.removeTree(path) }
        func rename(_ source: String, to target: String) async throws { try await base.rename(source, to: target) }
        func createDirectory(_ path: String) async throws { try await base.createDirectory(path) }
        func list(_ path: String) async throws -> [String] { try await base.list(path) }
        func syncDirectory(_ path: String) async throws { try await base.syncDirectory(path) }
    }

    // @unchecked: used by one task at a time.
    private final class FailingReads: Core.FileHandle, @unchecked Sendable {
        struct Injected: Error {}
        let base: any Core.FileHandle
        let failAt: Int
        let repeating: Bool
        private var reads = 0

        /// Fails the `failAt`-th read, or with `repeating` every `failAt`-th.
        init(base: any Core.FileHandle, failAt: Int, repeating: Bool = false) {
            self.base = base
            self.failAt = failAt
            self.repeating = repeating
        }

        var path: String { base.path }
        func read(at offset: Int64, count: Int) async throws -> [UInt8] {
            reads += 1
            if repeating ? reads % failAt == 0 : reads == failAt { throw Injected() }
            return try await base.read(at: offset, count: count)
        }
        func write(_ bytes: [UInt8], at offset: Int64) async throws { try await base.write(bytes, at: offset) }
        func size() async throws -> Int64 { try await base.size() }
        func truncate(to size: Int64) async throws { try await base.truncate(to: size) }
        func sync() async throws { try await base.sync() }
        func close() async throws { try await base.close() }
    }
}
