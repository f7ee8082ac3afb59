import Core
import Foundation
import IO
import Logging
import SQLite
import Testing

/// A real WAL-mode database replicated by hand into a file replica: the database file as the
/// snapshot of index 0, then the raw `-wal` bytes of index 0 (three transactions, one segment
/// each) and of index 1 (two transactions, after a TRUNCATE checkpoint restarted the WAL).
private struct ReplicatedDatabase {
    let directory: TemporaryDirectory
    let environment: Environment
    let client: FileReplicaClient
    let generation: Generation
    /// Rows in the source after each transaction, with the position that transaction ends at.
    var commits: [(position: Position, rows: [[SQLiteValue]])] = []
    var pageSize = 0

    init() async throws {
        directory = try TemporaryDirectory("sluice-restore")
        environment = ProductionEnvironment.make(logger: Logger(label: "restore-integration"))
        client = FileReplicaClient(root: directory.file("replica"), fileSystem: environment.fileSystem)
        generation = Generation.make(at: environment.wallClock.now(), random: environment.random)

        let source = directory.file("source.db")
        let db = try await environment.sqlite.open(source, options: SQLiteOpenOptions(create: true))
        try await db.execute("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;")
        try await db.setPersistentWAL(true)
        try await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)")
        pageSize = Int(try await db.scalarInteger("PRAGMA page_size") ?? 0)
        _ = try await db.checkpoint(.truncate)

        // The snapshot: the database file with an empty WAL.
        let snapshot = try Data(contentsOf: URL(fileURLWithPath: source))
        try await client.writeSnapshot(
            generation: generation, index: 0, data: BytesSource(LZ4FrameEncoder.compress([UInt8](snapshot))))

        for (index, transactions) in [(UInt64(0), 3), (UInt64(1), 2)] {
            if index > 0 { _ = try await db.checkpoint(.truncate) }
            var segmentStart = 0
            for _ in 0..<transactions {
                // Several pages per transaction, so a position can fall inside one.
                try await db.execute(
                    "INSERT INTO t (body) SELECT randomblob(1500) FROM (SELECT 1 UNION SELECT 2 UNION SELECT 3)")
                let wal = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source + "-wal")))
                try await client.writeWALSegment(
                    at: Position(generation: generation, index: index, offset: UInt64(segmentStart)),
                    data: BytesSource(LZ4FrameEncoder.compress(Array(wal[segmentStart...]))))
                segmentStart = wal.count
                commits.append(
                    (
                        Position(generation: generation, index: index, offset: UInt64(wal.count)),
                        try await db.query("SELECT id, body FROM t ORDER BY id")
                    ))
            }
        }
        try await db.close()
    }

    var output: String { directory.file("restored.db") }

    func restore(
        _ target: RestoreTarget = .latest, explicit: Bool = false, integrityCheck: Bool = true,
        overwrite: Bool = false
    ) async throws -> RestoreReport {
        try await Restorer(client: client, environment: environment).restore(
            RestoreRequest(
                outputPath: output, generation: explicit ? generation : nil, target: target,
                parallelism: 2, integrityCheck: integrityCheck, overwrite: overwrite))
    }

    func restoredRows() async throws -> [[SQLiteValue]] {
        let db = try await environment.sqlite.open(output, options: SQLiteOpenOptions())
        #expect(try await db.query("PRAGMA integrity_check") == [[.text("ok")]])
        let rows = try await db.query("SELECT id, body FROM t ORDER BY id")
        try await db.close()
        return rows
    }

    /// Names in the directory other than the source, its companions and the replica.
    func leftovers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { !$0.hasPrefix("source.db") && $0 != "replica" }.sorted()
    }
}

@Suite("Restore integration")
struct RestoreIntegrationTests {
    @Test("latest: every transaction of both indexes is restored, integrity checked, nothing else left")
    func latest() async throws {
        let replica = try await ReplicatedDatabase()
        defer { replica.directory.remove() }
        let report = try await replica.restore()
        #expect(report.generation == replica.generation)
        #expect(report.snapshotIndex == 0)
        #expect(report.appliedIndexes == [0, 1])
        #expect(report.finalPosition == replica.commits.last!.position)
        #expect(report.downloadedByteCount > 0)
        #expect(try await replica.restoredRows() == replica.commits.last!.rows)
        #expect(try replica.leftovers() == ["restored.db"])
    }

    @Test("position: every commit boundary restores exactly the rows of that commit")
    func positions() async throws {
        let replica = try await ReplicatedDatabase()
        defer { replica.directory.remove() }
        // Positions inside index 0 would need a snapshot older than index 0's own.
        for commit in replica.commits where commit.position.index == 0 {
            await #expect(throws: RestoreError.positionInsideSnapshotIndex(generation: replica.generation, index: 0)) {
                _ = try await replica.restore(.position(index: 0, offset: commit.position.offset), explicit: true)
            }
        }
        for commit in replica.commits where commit.position.index > 0 {
            try? FileManager.default.removeItem(atPath: replica.output)
            let report = try await replica.restore(
                .position(index: commit.position.index, offset: commit.position.offset), explicit: true)
            #expect(report.finalPosition == commit.position)
            #expect(try await replica.restoredRows() == commit.rows)
        }
        // The end of index 0 is its last commit.
        try FileManager.default.removeItem(atPath: replica.output)
        _ = try await replica.restore(.index(0), explicit: true)
        #expect(try await replica.restoredRows() == replica.commits[2].rows)
        // Offset 0 of index 1 is the end of index 0.
        try FileManager.default.removeItem(atPath: replica.output)
        _ = try await replica.restore(.position(index: 1, offset: 0), explicit: true)
        #expect(try await replica.restoredRows() == replica.commits[2].rows)
        #expect(try replica.leftovers() == ["restored.db"])
    }

    @Test("position: an offset inside a transaction is refused and leaves nothing behind")
    func positionInsideTransaction() async throws {
        let replica = try await ReplicatedDatabase()
        defer { replica.directory.remove() }
        let first = replica.commits[3].position
        let inside = first.offset + UInt64(24 + replica.pageSize) // one frame into the next transaction
        await #expect(
            throws: RestoreError.notACommitBoundary(Position(generation: replica.generation, index: 1, offset: inside))
        ) {
            _ = try await replica.restore(.position(index: 1, offset: inside), explicit: true)
        }
        #expect(try replica.leftovers() == [])
    }

    @Test("failure: a corrupt segment fails the restore with no output and no temp files")
    func corruptSegment() async throws {
        let replica = try await ReplicatedDatabase()
        defer { replica.directory.remove() }
        let position = Position(generation: replica.generation, index: 1, offset: 0)
        let key = replica.directory.file("replica/" + ReplicaLayout.grouped.walSegmentKey(position))
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: key)))
        for i in stride(from: 20, to: bytes.count - 8, by: 7) { bytes[i] ^= 0x5A }
        try Data(bytes).write(to: URL(fileURLWithPath: key))

        do {
            _ = try await replica.restore()
            Issue.record("a corrupt segment was restored")
        } catch let error as RestoreError {
            guard case .corruptObject(let object, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(object.contains("\(position)"))
        }
        #expect(try replica.leftovers() == [])
    }

    @Test("output: an existing file is refused before downloading, and replaced only with overwrite")
    func existingOutput() async throws {
        let replica = try await ReplicatedDatabase()
        defer { replica.directory.remove() }
        try Data("not a database".utf8).write(to: URL(fileURLWithPath: replica.output))
        try Data("stale wal".utf8).write(to: URL(fileURLWithPath: replica.output + "-wal"))
        await #expect(throws: RestoreError.outputExists(path: replica.output)) { _ = try await replica.restore() }
        #expect(try Data(contentsOf: URL(fileURLWithPath: replica.output)) == Data("not a database".utf8))

        _ = try await replica.restore(overwrite: true)
        #expect(try await replica.restoredRows() == replica.commits.last!.rows)
        #expect(try replica.leftovers() == ["restored.db"]) // the stale -wal went too

        let missingDirectory = replica.directory.file("nowhere/restored.db")
        await #expect(throws: RestoreError.outputDirectoryMissing(path: replica.directory.file("nowhere"))) {
            _ = try await Restorer(client: replica.client, environment: replica.environment)
                .restore(RestoreRequest(outputPath: missingDirectory))
        }
    }
}
