import Core
import SimHarness
import Testing

/// Scenario 3 (Litestream a14a74d, "fix release of non-OFD locks"): on systems without OFD locks a
/// POSIX lock belongs to the (process, file) pair, and closing *any* descriptor of the file drops
/// every lock the process holds on it, SQLite's included. Litestream opened and closed the
/// database file for stats and snapshots, silently dropping the SHARED lock its own connections
/// held. With that lock gone, the application's connection closing believes it is the last one:
/// it takes EXCLUSIVE, checkpoints past the replicator's read mark and deletes the WAL, and the
/// frames the replicator had not copied yet are gone from the replica.
///
/// First the scenario proves the hazard exists in this world: a process holding a read
/// transaction loses its POSIX locks on `/db` when it opens and closes the file once (SimDisk's
/// close-drops-all-locks rule). Then it runs the real replicator, taking snapshots every 2 s
/// through its one long-lived handle, while the app commits, checkpoints from its own process
/// and keeps closing and reopening its connection. At every step the replicator's process must
/// still hold its lock on `/db` (the engine never closes a descriptor of the database file), and
/// the replica must restore exactly.
@Suite("Scenario 3: short-lived close of the database file", .serialized)
struct Scenario3ShortLivedCloseTests {
    @Test(
        "Scenario 3: the engine never closes a descriptor of the database file; its lock stays and the replica is exact"
    )
    func scenario3ShortLivedClose() async throws {
        try await runScenario(seed: 3) { world in
            let app = world.app
            try await app.create()
            let path = ScenarioWorld.databasePath

            // The rule: one open/close of the file drops the locks SQLite holds for the process.
            let intruder = try world.startNode("intruder")
            let connection = try await intruder.open(path)
            try await connection.execute("BEGIN")
            _ = try await connection.query("SELECT count(*) FROM t")
            #expect(
                world.disk.holdsLock(intruder.process, on: path),
                "a reading connection holds a POSIX lock on the database")
            let stray = try await intruder.fileSystem.open(path, mode: .readOnly)
            _ = try await stray.size()
            try await stray.close()
            #expect(
                !world.disk.holdsLock(intruder.process, on: path),
                "closing a stray descriptor must drop the process's locks")
            try await connection.execute("ROLLBACK")
            try await connection.close()
            world.disk.kill(intruder.process)

            // The engine: snapshots every 2 s, no checkpoints of its own but the one before each
            // scheduled snapshot (which moves the WAL to a new index, so that the snapshot does not
            // replace the last one).
            var options = ScenarioWorld.options()
            options.snapshotInterval = .seconds(2)
            options.checkpoint = CheckpointPolicy(minimumPages: 100_000, idleInterval: nil, truncatePages: nil)
            let replicator = try world.startReplicator("replicator", options: options)
            try await world.sleep(.seconds(2))
            var lockLost: [Int] = []
            for step in 0..<45 {
                try await app.commit(inserts: 2)
                if step % 5 == 4 { try await app.checkpoint(step % 10 == 4 ? .passive : .truncate) }
                if step % 3 == 2 {
                    // A short-lived app connection (a cron job, a CLI): closing it tries to be the last.
                    await app.close()
                    try await app.open()
                }
                if !world.disk.holdsLock(replicator.node.process, on: path) { lockLost.append(step) }
                try await world.sleep(.milliseconds(300))
            }
            #expect(lockLost.isEmpty, "the replicator's process lost its lock on the database at steps \(lockLost)")
            let loopEnd = world.wallClock.now()
            try await world.sleep(.seconds(3))
            // A snapshot every interval or so, each at its own index, the last near the end: the
            // snapshots read the database file all along.
            let snapshots = try await world.client.snapshots(in: try #require(world.reported.last?.position.generation))
            #expect(snapshots.count >= 4 && Set(snapshots.map(\.index)).count == snapshots.count, "\(snapshots)")
            #expect(snapshots.map(\.createdAt).max()! >= loopEnd - .seconds(4), "\(snapshots)")
            #expect(try await world.restore().commit == app.lastCommit)
            if case .failure(let error) = await replicator.stop() {
                throw ScenarioFailure("replicator failed: \(error)")
            }
            #expect(try await world.restore().commit == app.lastCommit)
            _ = try await app.currentState()
        }
    }
}

extension SimDisk {
    /// Whether `process` holds any POSIX lock on the file at `path`.
    func holdsLock(_ process: SimProcess, on path: String) -> Bool {
        posixLocks(on: path).contains { $0.process == process.id }
    }
}
