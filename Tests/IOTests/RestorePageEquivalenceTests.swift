import Core
import Foundation
import IO
import Logging
import Testing

/// A real database whose history is replicated by hand, index by index, with the raw WAL bytes
/// of every index kept, so a restore can be compared byte for byte with what SQLite's own
/// checkpoints make of the same snapshot and WAL (the way restore applied indexes before it
/// wrote pages itself).
private struct CapturedHistory {
    let directory: TemporaryDirectory
    let environment: Environment
    let client: FileReplicaClient
    let generation: Generation
    let snapshot: [UInt8]
    /// Each index's WAL bytes, and the offsets where its transactions end.
    var indexes: [(wal: [UInt8], commits: [Int])] = []
    /// The source database file after its last checkpoint.
    var finalSource: [UInt8] = []

    /// `script[i]` lists index i's transactions; each is one SQL batch.
    init(pageSize: Int, script: [[String]]) async throws {
        directory = try TemporaryDirectory("sluice-pages")
        environment = ProductionEnvironment.make(logger: Logger(label: "restore-pages"))
        client = FileReplicaClient(root: directory.file("replica"), fileSystem: environment.fileSystem)
        generation = Generation.make(at: environment.wallClock.now(), random: environment.random)

        let source = directory.file("source.db")
        let db = try await environment.sqlite.open(source, options: SQLiteOpenOptions(create: true))
        try await db.execute("PRAGMA page_size=\(pageSize); PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;")
        try await db.setPersistentWAL(true)
        try await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)")
        _ = try await db.checkpoint(.truncate)
        snapshot = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
        try await client.writeSnapshot(
            generation: generation, index: 0, data: BytesSource(LZ4FrameEncoder.compress(snapshot)))

        for (index, transactions) in script.enumerated() {
            if index > 0 { _ = try await db.checkpoint(.truncate) }
            var segmentStart = 0
            var commits: [Int] = []
            var wal: [UInt8] = []
            for sql in transactions {
                try await db.execute(sql)
                wal = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source + "-wal")))
                guard wal.count > segmentStart else { continue }
                try await client.writeWALSegment(
                    at: Position(generation: generation, index: UInt64(index), offset: UInt64(segmentStart)),
                    data: BytesSource(LZ4FrameEncoder.compress(Array(wal[segmentStart...]))))
                segmentStart = wal.count
                commits.append(wal.count)
            }
            indexes.append((wal, commits))
        }
        _ = try await db.checkpoint(.truncate)
        try await db.close()
        finalSource = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
    }

    /// Restores with the restore code under test and returns the file's bytes.
    func restore(_ target: RestoreTarget = .latest, batchBytes: Int64, inMemory: Bool = true) async throws -> [UInt8] {
        let output = directory.file("restored.db")
        _ = try await Restorer(client: client, environment: environment).restore(
            RestoreRequest(
                outputPath: output, generation: generation, target: target, parallelism: 3,
                integrityCheck: true, overwrite: true, applyBatchBytes: batchBytes,
                indexMemoryLimit: inMemory ? RestoreRequest(outputPath: output).indexMemoryLimit : 0))
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
    }

    /// The reference: the snapshot, then each index's WAL (cut to `lastEnd` in the last one)
    /// checkpointed in by SQLite, one connection per index.
    func checkpointedBySQLite(indexes count: Int, lastEnd: Int? = nil) async throws -> [UInt8] {
        let path = directory.file("reference.db")
        try Data(snapshot).write(to: URL(fileURLWithPath: path))
        for position in 0..<count {
            var wal = indexes[position].wal
            if position == count - 1, let lastEnd { wal = Array(wal.prefix(lastEnd)) }
            try Data(wal).write(to: URL(fileURLWithPath: path + "-wal"))
            let db = try await environment.sqlite.open(path, options: SQLiteOpenOptions())
            _ = try await db.checkpoint(.truncate)
            try await db.close()
        }
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

/// Pages whose bytes differ, for a readable failure.
private func differingPages(_ a: [UInt8], _ b: [UInt8], pageSize: Int) -> [Int] {
    stride(from: 0, to: max(a.count, b.count), by: pageSize).filter { start in
        a[min(start, a.count)..<min(start + pageSize, a.count)]
            != b[min(start, b.count)..<min(start + pageSize, b.count)]
    }.map { $0 / pageSize + 1 }
}

/// `n` rows, as a subquery (the SQLite build has no generate_series).
private func rows(_ n: Int) -> String {
    "(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < \(n)) SELECT i FROM c)"
}

@Suite("Restore page equivalence")
struct RestorePageEquivalenceTests {
    /// Grows, rewrites page 1 (schema changes), shrinks with VACUUM at the end of an index and
    /// inside one, regrows, and rewrites the same pages across many indexes.
    static let script: [[String]] = [
        [
            "INSERT INTO t (body) SELECT randomblob(700) FROM \(rows(40))",
            "CREATE INDEX t_body ON t(body)",
            "UPDATE t SET body = randomblob(300) WHERE id % 3 = 0",
        ],
        ["DELETE FROM t WHERE id > 10", "VACUUM"],
        [
            "INSERT INTO t (body) SELECT randomblob(900) FROM \(rows(25))", "DROP INDEX t_body",
            "CREATE TABLE u (x)", "VACUUM", "INSERT INTO u SELECT randomblob(200) FROM \(rows(30))",
        ],
        ["UPDATE t SET body = randomblob(100) WHERE id = 1"],
        ["UPDATE t SET body = randomblob(100) WHERE id = 1", "UPDATE t SET body = randomblob(120) WHERE id = 2"],
        ["DELETE FROM u", "DROP TABLE u", "VACUUM"],
        ["INSERT INTO t (body) SELECT randomblob(1500) FROM \(rows(8))"],
    ]

    @Test(
        "latest: the same bytes as SQLite's checkpoints and the source, whatever the batch size",
        arguments: [512, 4096, 65536])
    func latest(pageSize: Int) async throws {
        let history = try await CapturedHistory(pageSize: pageSize, script: Self.script)
        defer { history.directory.remove() }
        let reference = try await history.checkpointedBySQLite(indexes: history.indexes.count)
        #expect(differingPages(reference, history.finalSource, pageSize: pageSize) == [])
        for batchBytes: Int64 in [0, 3 * Int64(pageSize), RestoreRequest.defaultApplyBatchBytes] {
            for inMemory in [true, false] {
                let restored = try await history.restore(batchBytes: batchBytes, inMemory: inMemory)
                #expect(restored.count == reference.count, "batch \(batchBytes) in memory \(inMemory)")
                #expect(
                    differingPages(restored, reference, pageSize: pageSize) == [],
                    "batch \(batchBytes) in memory \(inMemory)")
            }
        }
    }

    @Test("every commit boundary: the same bytes as SQLite's checkpoints of the WAL cut there")
    func positions() async throws {
        let history = try await CapturedHistory(pageSize: 1024, script: Self.script)
        defer { history.directory.remove() }
        // Positions inside index 0 need a snapshot older than index 0's own.
        for (index, captured) in history.indexes.enumerated() where index > 0 {
            for end in captured.commits {
                let reference = try await history.checkpointedBySQLite(indexes: index + 1, lastEnd: end)
                for batchBytes: Int64 in [0, RestoreRequest.defaultApplyBatchBytes] {
                    let restored = try await history.restore(
                        .position(index: UInt64(index), offset: UInt64(end)),
                        batchBytes: batchBytes, inMemory: batchBytes == 0)
                    #expect(
                        differingPages(restored, reference, pageSize: 1024) == [] && restored.count == reference.count,
                        "index \(index) offset \(end) batch \(batchBytes)")
                }
            }
        }
    }
}
