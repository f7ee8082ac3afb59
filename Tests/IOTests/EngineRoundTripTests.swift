import Core
import Foundation
import IO
import Logging
import SQLite
import Testing

/// The engine in-process, on real files and real SQLite: an application connection writes while
/// the replicator runs; restores must equal the source exactly. (The binary-level tests in
/// ReplicateRestoreIntegrationTests drive the same paths through `sluice` and a second process.)
@Suite("Engine round trip", .serialized)
final class EngineRoundTripTests {
    /// Goes when this test's instance does, whatever the test did.
    let folder: TemporaryDirectory
    var directory: URL { folder.url }
    let environment: Environment

    init() throws {
        folder = try TemporaryDirectory("sluice-engine")
        var logger = Logger(label: "test")
        logger.logLevel =
            ProcessInfo.processInfo.environment["SLUICE_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        environment = ProductionEnvironment.make(logger: logger)
    }

    var databasePath: String { directory.appendingPathComponent("app.db").path }
    var replicaPath: String { directory.appendingPathComponent("replica").path }

    func options() -> ReplicationOptions {
        var options = ReplicationOptions()
        options.monitorInterval = .milliseconds(20)
        options.syncInterval = .milliseconds(20)
        options.checkpoint.minimumPages = 20
        return options
    }

    func openApp() async throws -> any SQLiteConnection {
        // Like a real application: writes wait out the replicator's brief write lock.
        let app = try await environment.sqlite.open(
            databasePath, options: SQLiteOpenOptions(create: true, busyTimeoutMilliseconds: 5000))
        _ = try await app.query("PRAGMA journal_mode = wal")
        try await app.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, payload BLOB)")
        return app
    }

    /// The application's own checkpoint, on a connection of its own. Its TRUNCATE waits out its
    /// busy timeout on the replicator's read lock (by design: only the replicator restarts the
    /// WAL while it runs), so that wait is kept short.
    func appCheckpoint(_ mode: CheckpointMode) async throws {
        let connection = try await environment.sqlite.open(
            databasePath, options: SQLiteOpenOptions(busyTimeoutMilliseconds: 300))
        _ = try await connection.checkpoint(mode)
        try await connection.close()
    }

    func insert(_ app: any SQLiteConnection, rows: Range<Int>, size: Int = 300) async throws {
        try await app.execute("BEGIN")
        for id in rows {
            _ = try await app.query(
                "INSERT INTO t (id, payload) VALUES (?, randomblob(?))", [.integer(Int64(id)), .integer(Int64(size))])
        }
        try await app.execute("COMMIT")
    }

    func dump(_ path: String) async throws -> [[SQLiteValue]] {
        let connection = try await environment.sqlite.open(path, options: SQLiteOpenOptions(readOnly: true))
        let rows = try await connection.query("SELECT id, hex(payload) FROM t ORDER BY id")
        try await connection.close()
        return rows
    }

    /// Runs the replicator while `body` writes, then stops it (final sync) and returns.
    func replicate(_ body: () async throws -> Void) async throws {
        let client = FileReplicaClient(root: replicaPath, fileSystem: environment.fileSystem)
        let replicator = Replicator(
            databasePath: databasePath, replicas: [client], options: options(), environment: environment)
        let task = Task { try await replicator.run() }
        // The body writes while replication runs: it starts once the generation's first
        // snapshot is on the replica. Stopping syncs everything the body wrote.
        let started = ContinuousClock.now
        while try await client.generations().isEmpty {
            try #require(ContinuousClock.now - started < .seconds(60), "the replicator never took its first snapshot")
            try await environment.clock.sleep(for: .milliseconds(5))
        }
        try await body()
        task.cancel()
        try await task.value
    }

    /// How many WAL indexes the replica's generations hold.
    func indexCount() async throws -> Int {
        let client = FileReplicaClient(root: replicaPath, fileSystem: environment.fileSystem)
        var indexes = Set<String>()
        for generation in try await client.generations() {
            for segment in try await client.walSegments(in: generation) {
                indexes.insert("\(generation)/\(segment.index)")
            }
        }
        return indexes.count
    }

    func restore(_ name: String, target: RestoreTarget = .latest, generation: Generation? = nil) async throws -> String
    {
        let output = directory.appendingPathComponent(name).path
        let client = FileReplicaClient(root: replicaPath, fileSystem: environment.fileSystem)
        _ = try await Restorer(client: client, environment: environment).restore(
            RestoreRequest(outputPath: output, generation: generation, target: target, integrityCheck: true))
        return output
    }

    @Test("writes, app checkpoints and restarts are restored exactly")
    func roundTrip() async throws {
        let app = try await openApp()
        try await insert(app, rows: 0..<10)
        try await replicate {
            for batch in 1..<30 {
                try await insert(app, rows: (batch * 10)..<(batch * 10 + 10))
                if batch == 12 { try await appCheckpoint(.truncate) }
                if batch == 20 { try await appCheckpoint(.passive) }
                try await Task.sleep(for: .milliseconds(5))
            }
            // History spans several indexes: the app's checkpoint and the replicator's own
            // restart the WAL, each at the first write after it, so writes go on until the
            // replica shows three however the replicator's passes fell.
            var batch = 30
            while try await indexCount() <= 2 {
                // Counted in batches, not wall time: an await may wait long for a thread on a loaded run.
                try #require(batch < 3000, "history never reached a third WAL index")
                try await insert(app, rows: (batch * 10)..<(batch * 10 + 10))
                try await Task.sleep(for: .milliseconds(20))
                batch += 1
            }
        }
        let restored = try await restore("restored.db")
        #expect(try await dump(restored) == (try await dump(databasePath)))
        let client = FileReplicaClient(root: replicaPath, fileSystem: environment.fileSystem)
        #expect(try await client.generations().count == 1)
        try await app.close()
    }

    @Test("writers on fresh connections, as separate processes are, restart the WAL without breaking the generation")
    func freshConnections() async throws {
        // Regression: SQLite's WAL header sequence and salts are per connection. A writer that
        // never restarted the WAL itself writes sequence 1 and, after another connection's
        // TRUNCATE, random salts; the replicator once read that as a lost WAL lifetime and
        // started a new generation on every second restart.
        let setup = try await openApp()
        try await setup.close()
        try await replicate {
            for batch in 0..<40 {
                let app = try await openApp()
                try await insert(app, rows: (batch * 10)..<(batch * 10 + 10))
                if batch % 10 == 9 { try await appCheckpoint(.truncate) }
                try await app.close()
                try await Task.sleep(for: .milliseconds(15))
            }
        }
        let client = FileReplicaClient(root: replicaPath, fileSystem: environment.fileSystem)
        let generations = try await client.generations()
        #expect(generations.count == 1)
        #expect(Set(try await client.walSegments(in: generations[0]).map(\.index)).count > 2)
        let restored = try await restore("restored.db")
        #expect(try await dump(restored) == (try await dump(databasePath)))
    }

    @Test(
        "a restart continues the generation, also past a checkpoint of nothing new; a write checkpointed while stopped starts a new one"
    )
    func restartAndDowntimeCheckpoint() async throws {
        let app = try await openApp()
        try await insert(app, rows: 0..<20)
        try await replicate { try await insert(app, rows: 20..<40) }
        try await replicate { try await insert(app, rows: 40..<60) }
        let client = FileReplicaClient(root: replicaPath, fileSystem: environment.fileSystem)
        #expect(try await client.generations().count == 1)

        // Downtime: the application truncates the WAL, which the stop had checkpointed whole, and
        // writes into a new WAL. The database file is as the stop left it and the new WAL holds
        // every commit since, so the generation continues.
        _ = try await app.checkpoint(.truncate)
        try await insert(app, rows: 60..<70)
        try await replicate { try await insert(app, rows: 70..<80) }
        #expect(try await client.generations().count == 1)

        // Downtime: the application writes and checkpoints that write into the database file, so
        // no WAL holds it any more: a new generation, with a snapshot.
        try await insert(app, rows: 80..<90)
        _ = try await app.checkpoint(.truncate)
        try await insert(app, rows: 90..<100)
        try await replicate { try await insert(app, rows: 100..<110) }
        let generations = try await client.generations().sorted()
        try #require(generations.count == 2)
        #expect(try await !client.snapshots(in: generations[1]).isEmpty)
        let restored = try await restore("restored.db")
        #expect(try await dump(restored) == (try await dump(databasePath)))
        try await app.close()
    }

    @Test("a transaction far larger than the copy chunk is replicated whole")
    func largeTransaction() async throws {
        let app = try await openApp()
        try await replicate {
            try await insert(app, rows: 0..<3000, size: 4000) // about 12 MB in one transaction
            try await insert(app, rows: 3000..<3010)
        }
        let restored = try await restore("restored.db")
        #expect(try await dump(restored) == (try await dump(databasePath)))
        try await app.close()
    }
}
