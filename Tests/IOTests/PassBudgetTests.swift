import Core
import IO
import Logging
import SQLite
import Testing

/// A regression guard on what a steady pass and an upload cost: file-system calls and handoffs
/// to the blocking-call pool, counted on real files and real SQLite with the production pool.
/// Each call is a system call or more; a handoff was about thirteen futex calls when every call
/// made one, and the replicator's CPU went mostly to them (issue 15). The budgets are what the
/// code needs today with a little room; a change that needs more must say why here.
@Suite("Budget of a steady pass and an upload")
struct PassBudgetTests {
    /// File-system calls of one pass that copies 100 one-row transactions (observe the WAL: open,
    /// size, last frame, header; copy: doubling reads, one write, one fsync; close): 12 today,
    /// where writing the shadow at every commit made it over 110.
    static let passCalls = 14
    /// File-system calls of one upload of those transactions to a folder replica (read the
    /// shadow, write the segment: temp file, fsync, rename, directory fsync): 13 today.
    static let uploadCalls = 16

    @Test("a pass over 100 commits and their upload stay within their budgets, with no handoff to the pool")
    func budget() async throws {
        let dir = try TemporaryDirectory("sluice-budget")
        defer { dir.remove() }
        let runner = ThreadPoolRunner(threads: 2)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let production = ProductionEnvironment.make(logger: logger)
        let files = CountingFileSystem(base: POSIXFileSystem(runner: runner))
        let environment = Environment(
            fileSystem: files, clock: production.clock, wallClock: production.wallClock, random: production.random,
            sqlite: SQLiteDatabaseOpener(runner: runner), spawner: TaskSpawner(executor: runner),
            logger: production.logger)
        var options = ReplicationOptions()
        options.checkpoint.minimumPages = 100_000
        options.checkpoint.idleInterval = nil
        options.snapshotInterval = nil

        let app = try await environment.sqlite.open(dir.file("db"), options: SQLiteOpenOptions(create: true))
        _ = try await app.query("PRAGMA journal_mode = wal")
        try await app.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
        let (pass, upload, handoffs) = try await environment.spawner.run {
            let database = ReplicatedDatabase(path: dir.file("db"), options: options, environment: environment)
            let syncer = ReplicaSyncer(
                client: FileReplicaClient(root: dir.file("replica"), fileSystem: files),
                database: database, options: options, environment: environment)
            try await database.validate()
            try await syncer.acquireLease()
            try await database.open()
            try await database.sync()
            try await syncer.sync()
            for _ in 0..<100 { _ = try await app.query("INSERT INTO t (v) VALUES (randomblob(200))") }

            let handoffsBefore = runner.handoffCount
            files.reset()
            #expect(try await database.sync().advanced)
            let pass = files.count
            files.reset()
            try await syncer.sync()
            let upload = files.count
            let handoffs = runner.handoffCount - handoffsBefore
            await syncer.releaseLease()
            await database.stop()
            return (pass, upload, handoffs)
        }
        try await app.close()
        #expect(pass <= Self.passCalls, "a steady pass made \(pass) file-system calls; budget \(Self.passCalls)")
        #expect(upload <= Self.uploadCalls, "an upload made \(upload) file-system calls; budget \(Self.uploadCalls)")
        #expect(handoffs == 0, "\(handoffs) calls were handed to a pool thread instead of running in place")
    }
}
