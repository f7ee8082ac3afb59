import Core
import Logging
import SQLite
import SimHarness
import TestSupport
import Testing

/// What a copy of the scenario database holds: its commit counter and the digest of its rows.
struct ScenarioState: Equatable, CustomStringConvertible {
    var commit: Int
    var digest: ContentDigest

    static func read(_ connection: any SQLiteConnection) async throws -> ScenarioState {
        let counter = try await connection.scalarInteger("SELECT n FROM meta WHERE k = 0")
        var digest = ContentDigest()
        for row in try await connection.query("SELECT id, v FROM t ORDER BY id") {
            guard case .integer(let id) = row[0], case .blob(let value) = row[1] else {
                throw ScenarioFailure("row of unexpected type \(row)")
            }
            digest.insert(id: id, value: value)
        }
        return ScenarioState(commit: Int(counter ?? -1), digest: digest)
    }

    var description: String { "commit \(commit) (\(digest))" }
}

/// A scenario's own failure, thrown out of the simulated world so the run stops at once.
struct ScenarioFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The application of a scenario: one connection to the source database, a table of rows and a
/// commit counter (`meta.n`) that every transaction increments, so any copy says which commit it
/// is. `digests[n]` is the table's content after commit n: the oracle's record of the source.
// @unchecked: touched only on the simulator's one thread.
final class ScenarioApp: @unchecked Sendable {
    static let schema = """
        CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL);
        CREATE TABLE meta (k INTEGER PRIMARY KEY, n INTEGER NOT NULL);
        INSERT INTO meta VALUES (0, 0);
        """

    private(set) var node: SimNode
    let path: String
    private(set) var connection: (any SQLiteConnection)?
    private(set) var digests: [ContentDigest] = []
    private var digest = ContentDigest()
    private var rows: [Int64: [UInt8]] = [:]
    private var nextID: Int64 = 1
    private let random: SplitMix64
    private let clock: SimClock
    /// Extra connection settings, e.g. `PRAGMA synchronous = FULL`.
    private let settings: String

    init(node: SimNode, path: String, scheduler: SimScheduler, settings: String = "PRAGMA synchronous = NORMAL") {
        self.node = node
        self.path = path
        self.random = scheduler.randomSource("scenario-app-\(node.process.name)")
        self.clock = scheduler.clock
        self.settings = settings
    }

    var lastCommit: Int { digests.count - 1 }

    /// Creates the database in WAL mode with the schema: commit 0.
    func create() async throws {
        try await open()
        _ = try await connection!.query("PRAGMA journal_mode = wal")
        try await connection!.execute("BEGIN; " + Self.schema + " COMMIT")
        digests = [digest]
    }

    func open() async throws {
        let connection = try await node.open(path)
        try await connection.execute("PRAGMA cache_size = 8; " + settings)
        self.connection = connection
    }

    func close() async {
        try? await connection?.close()
        connection = nil
    }

    /// After a power loss: the app restarts as a new process on `node`, reads what the database
    /// recovered to, and continues its record from there. Throws if the source is harmed: not a
    /// commit the app made, or failing integrity_check.
    func recover(on node: SimNode) async throws -> ScenarioState {
        self.node = node
        try await open()
        let integrity = try await connection!.query("PRAGMA integrity_check").first?.first?.textValue
        guard integrity == "ok" else {
            throw ScenarioFailure("source after power loss: integrity_check says \(integrity ?? "nothing")")
        }
        let state = try await ScenarioState.read(connection!)
        guard state.commit >= 0, state.commit < digests.count, digests[state.commit] == state.digest else {
            throw ScenarioFailure(
                "source after power loss holds \(state), which the app never committed (last commit \(lastCommit))")
        }
        digests.removeLast(digests.count - 1 - state.commit)
        digest = state.digest
        // Rebuild the row model from the recovered file.
        rows = [:]
        for row in try await connection!.query("SELECT id, v FROM t") {
            if case .integer(let id) = row[0], case .blob(let value) = row[1] { rows[id] = value }
        }
        nextID = (rows.keys.max() ?? 0) + 1
        return state
    }

    /// Commits one transaction: `inserts` new rows of about `size` bytes, and an update of an
    /// earlier row when there is one. Retries on SQLITE_BUSY after a simulated pause (the
    /// replicator takes the write lock briefly). Returns the commit's number.
    @discardableResult
    func commit(inserts: Int = 1, size: Int = 300) async throws -> Int {
        var statements: [(String, [SQLiteValue])] = []
        var inserted: [(Int64, [UInt8])] = []
        for offset in 0..<Int64(inserts) {
            let value = blob(size)
            inserted.append((nextID + offset, value))
            statements.append(("INSERT INTO t (id, v) VALUES (?, ?)", [.integer(nextID + offset), .blob(value)]))
        }
        var updated: (Int64, [UInt8])?
        if !rows.isEmpty {
            let ids = rows.keys.sorted()
            let id = ids[Int(random.next() % UInt64(ids.count))]
            let value = blob(size / 2 + 1)
            updated = (id, value)
            statements.append(("UPDATE t SET v = ? WHERE id = ?", [.blob(value), .integer(id)]))
        }
        var attempt = 0
        while true {
            do {
                try await connection!.execute("BEGIN IMMEDIATE")
                for (sql, parameters) in statements { _ = try await connection!.query(sql, parameters) }
                try await connection!.execute("UPDATE meta SET n = n + 1 WHERE k = 0; COMMIT")
                break
            } catch let error as SQLiteError where error.isBusy {
                _ = try? await connection!.execute("ROLLBACK")
                attempt += 1
                guard attempt < 1000 else { throw error }
                try await clock.sleep(for: .milliseconds(5))
            } catch {
                _ = try? await connection?.execute("ROLLBACK")
                throw error
            }
        }
        for (id, value) in inserted {
            rows[id] = value
            digest.insert(id: id, value: value)
        }
        if let (id, value) = updated {
            digest.remove(id: id, value: rows[id]!)
            rows[id] = value
            digest.insert(id: id, value: value)
        }
        nextID += Int64(inserts)
        digests.append(digest)
        SimTrace.record("scenario commit", UInt64(lastCommit))
        return lastCommit
    }

    /// The app's own checkpoint (from its own process); nil when SQLite reported busy.
    @discardableResult
    func checkpoint(_ mode: CheckpointMode) async throws -> CheckpointResult? {
        do {
            let result = try await connection!.checkpoint(mode)
            SimTrace.record(
                "scenario app checkpoint \(mode) busy=\(result.busy) \(result.checkpointedFrames)/\(result.walFrames)")
            return result
        } catch let error as SQLiteError where error.isBusy {
            SimTrace.record("scenario app checkpoint \(mode) SQLITE_BUSY")
            return nil
        }
    }

    /// Integrity and content of the source as it is now.
    func currentState() async throws -> ScenarioState {
        let integrity = try await connection!.query("PRAGMA integrity_check").first?.first?.textValue
        guard integrity == "ok" else { throw ScenarioFailure("source integrity_check says \(integrity ?? "nothing")") }
        let state = try await ScenarioState.read(connection!)
        guard state.commit == lastCommit, state.digest == digests[lastCommit] else {
            throw ScenarioFailure("source holds \(state), the app committed \(lastCommit) with \(digests[lastCommit])")
        }
        return state
    }

    private func blob(_ size: Int) -> [UInt8] {
        var seed = random.next()
        return (0..<max(1, size)).map { index in
            if index % 8 == 0 { seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407 }
            return UInt8(truncatingIfNeeded: seed >> UInt64((index % 8) * 8))
        }
    }
}

/// A running `Replicator` in a simulated process of its own.
// @unchecked: touched only on the simulator's one thread.
final class ReplicatorProcess: @unchecked Sendable {
    let node: SimNode
    let replicator: Replicator
    private(set) var task: Task<Void, any Error>?

    init(node: SimNode, replicator: Replicator) {
        self.node = node
        self.replicator = replicator
    }

    /// True once `run()` has returned or thrown.
    private(set) var finished = false

    func start(spawner: TaskSpawner) {
        let replicator = self.replicator
        task = spawner.spawn {
            defer { self.finished = true }
            try await replicator.run()
        }
    }

    /// How `run()` ended, if it ends within `limit` of simulated time; nil if it still runs.
    func outcome(within limit: Duration, clock: SimClock) async throws -> Result<Void, any Error>? {
        let deadline = clock.now.advanced(by: limit)
        while !finished {
            guard clock.now < deadline else { return nil }
            try await clock.sleep(for: .milliseconds(100))
        }
        return await task!.result
    }

    /// A clean stop: cancel, let the final sync run, and return how `run()` ended.
    @discardableResult
    func stop() async -> Result<Void, any Error> {
        task!.cancel()
        return await task!.result
    }

    /// How `run()` ended, waiting for it (it ends by itself on a fatal error).
    func outcome() async -> Result<Void, any Error> {
        await task!.result
    }

    /// kill -9: the process dies at once (its descriptors and locks go, its later disk calls
    /// fail), then the task is cancelled and awaited so nothing of it runs on.
    func kill() async {
        node.disk.kill(node.process)
        task!.cancel()
        _ = await task!.result
    }
}

/// A small hand-built world: one app machine (disk) with the source database, an object store
/// holding the replica, and a restore machine. Scenarios start replicator processes on it and
/// drive the interleaving themselves.
// @unchecked: touched only on the simulator's one thread.
final class ScenarioWorld: @unchecked Sendable {
    static let databasePath = "/db"

    let scheduler: SimScheduler
    let wallClock: SimWallClock
    let disk: SimDisk
    let store: SimObjectStore
    let client: SimReplicaClient
    let appNode: SimNode
    let restoreNode: SimNode
    let app: ScenarioApp
    private var nodes: [SimNode] = []
    private var restores = 0
    /// The report of the last restore that succeeded (`restore`).
    private(set) var lastRestoreReport: RestoreReport?
    /// Every position a replicator reported replicated, with the time and the commit count then.
    private(set) var reported: [(position: Position, at: Timestamp, commits: Int)] = []

    init(
        scheduler: SimScheduler, storeFaults: ObjectStoreFaults = .none, disk: SimDisk? = nil,
        appSettings: String = "PRAGMA synchronous = NORMAL", layout: ReplicaLayout = .grouped
    ) throws {
        self.scheduler = scheduler
        let wallClock = SimWallClock(scheduler: scheduler)
        self.wallClock = wallClock
        self.disk = disk ?? SimDisk(wallClock: { wallClock.now() })
        store = SimObjectStore(scheduler: scheduler, faults: storeFaults)
        client = SimReplicaClient(store: store, root: "replica", writeLayout: layout)
        appNode = try SimNode(disk: self.disk, name: "app", scheduler: scheduler)
        restoreNode = try SimNode(
            disk: SimDisk(wallClock: { wallClock.now() }), name: "restore", scheduler: scheduler,
            logger: SimLogHandler.logger(label: "restore", logLevel: .warning))
        nodes = [appNode, restoreNode]
        app = ScenarioApp(node: appNode, path: Self.databasePath, scheduler: scheduler, settings: appSettings)
    }

    /// Replication knobs for scenarios: fast loops, small WAL indexes, no retention.
    static func options(owner: String = "replicator") -> ReplicationOptions {
        var options = ReplicationOptions()
        options.monitorInterval = .seconds(1)
        options.syncInterval = .seconds(1)
        options.retention = nil
        options.snapshotInterval = nil
        options.checkpoint = CheckpointPolicy(minimumPages: 8, idleInterval: .seconds(10), truncatePages: 10_000)
        options.leaseOwner = owner
        return options
    }

    /// A new simulated process (on `disk`, the app machine by default) running the real
    /// `Replicator` against `client` (this world's replica by default).
    func startReplicator(
        _ name: String, options: ReplicationOptions = ScenarioWorld.options(), disk: SimDisk? = nil,
        databasePath: String = ScenarioWorld.databasePath, client: (any ReplicaClient)? = nil,
        logLevel: Logger.Level = .info, changeNotifier: (any FileChangeNotifier)? = nil,
        events: (any ReplicationEvents)? = nil
    ) throws -> ReplicatorProcess {
        let node = try SimNode(
            disk: disk ?? self.disk, name: name, scheduler: scheduler,
            logger: SimLogHandler.logger(label: name, logLevel: logLevel))
        nodes.append(node)
        let clock = wallClock
        var environment = node.environment
        environment.changeNotifier = changeNotifier
        let replicator = Replicator(
            databasePath: databasePath, replicas: [client ?? self.client], options: options,
            environment: environment,
            observer: { [weak self] _, position in
                guard let self else { return }
                self.reported.append((position, clock.now(), self.app.lastCommit))
            }, events: events)
        let process = ReplicatorProcess(node: node, replicator: replicator)
        process.start(spawner: scheduler.spawner)
        return process
    }

    /// A new process on `disk` (the app machine by default), e.g. the app after a restart.
    func startNode(_ name: String, disk: SimDisk? = nil) throws -> SimNode {
        let node = try SimNode(disk: disk ?? self.disk, name: name, scheduler: scheduler)
        nodes.append(node)
        return node
    }

    /// Sleeps on the simulated clock.
    func sleep(_ duration: Duration) async throws {
        try await scheduler.clock.sleep(for: duration)
    }

    /// A steady app: `inserts` rows of `size` bytes committed, then a pause of `interval`, `count`
    /// times (60 s at 50 ms by default).
    func commitSteadily(
        _ count: Int = 1200, every interval: Duration = .milliseconds(50), inserts: Int = 3,
        size: Int = 300
    ) async throws {
        for _ in 0..<count {
            try await app.commit(inserts: inserts, size: size)
            try await sleep(interval)
        }
    }

    /// How many snapshots the replica holds, over all its generations.
    func snapshotCount() async throws -> Int {
        var count = 0
        for generation in try await client.generations() { count += try await client.snapshots(in: generation).count }
        return count
    }

    /// Restores `request` (its output path is chosen here) on the restore machine with the real
    /// `Restorer`; checks integrity_check and that the content is exactly the source's at the
    /// commit it claims to be. Throws the restore's own error unchanged.
    func restore(
        _ target: RestoreTarget = .latest, generation: Generation? = nil, parallelism: Int = 2,
        from client: (any ReplicaClient)? = nil
    ) async throws -> ScenarioState {
        restores += 1
        let output = "/restore/r\(restores).db"
        let fileSystem = restoreNode.fileSystem
        try await fileSystem.createDirectory("/restore")
        let request = RestoreRequest(
            outputPath: output, generation: generation, target: target, parallelism: parallelism,
            integrityCheck: true)
        let report = try await Restorer(client: client ?? self.client, environment: restoreNode.environment).restore(
            request)
        lastRestoreReport = report
        let connection = try await restoreNode.open(output)
        let state: ScenarioState
        do {
            let integrity = try await connection.query("PRAGMA integrity_check").first?.first?.textValue
            guard integrity == "ok" else {
                throw ScenarioFailure("restore to \(target): integrity_check says \(integrity ?? "nothing")")
            }
            state = try await ScenarioState.read(connection)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
        for suffix in ["", "-wal", "-shm"] where try await fileSystem.stat(output + suffix) != nil {
            try await fileSystem.remove(output + suffix)
        }
        guard state.commit >= 0, state.commit < app.digests.count, app.digests[state.commit] == state.digest else {
            throw ScenarioFailure(
                "restore to \(target) holds \(state), which is not the source at any commit (last \(app.lastCommit))")
        }
        return state
    }

    /// Objects on the restore machine under /restore (leftovers of a failed restore).
    func restoreLeftovers() async throws -> [String] {
        try await restoreNode.fileSystem.createDirectory("/restore")
        return try await restoreNode.fileSystem.list("/restore").sorted()
    }

    /// Unregisters every process's VFS; call at the end of the run.
    func shutdown() async {
        await app.close()
        for node in nodes { node.shutdown() }
    }
}

/// Runs `body` in a new simulated world on the blocking test executor and returns its value.
/// A failed run (a thrown `ScenarioFailure`, a Core error, a deadlock or an escape) is recorded
/// as a test issue with the run's trace tail, and rethrown.
func runScenario<T>(
    seed: UInt64,
    world makeWorld: @escaping @Sendable (SimScheduler) throws -> ScenarioWorld = { try ScenarioWorld(scheduler: $0) },
    _ body: @escaping @Sendable (ScenarioWorld) async throws -> T
) async throws -> T {
    try await blocking {
        let options = SchedulerOptions(
            randomPickProbability: 0.3, maxSimulatedTime: .seconds(6 * 3600), traceTailLength: 80)
        do {
            let run = try SimScheduler.run(seed: seed, options: options) { scheduler in
                let world = try makeWorld(scheduler)
                do {
                    let value = try await body(world)
                    await world.shutdown()
                    return value
                } catch {
                    await world.shutdown()
                    throw error
                }
            }
            return run.value
        } catch let error as SimRunError {
            Issue.record("\(error.report)")
            throw error
        }
    }
}
