import Core
import Glibc

/// The application: a seeded stream of transactions against one WAL database through its own
/// SQLite connection, sleeping on the SimClock between commits, with its own checkpoints.
///
/// Every transaction increments `meta.n`, so any copy of the database says which commit it is;
/// the digest of the table after each commit goes into the `CommitLog`.
// @unchecked: touched only on the simulator's one thread.
final class AppWorkload: @unchecked Sendable {
    static let schema = """
        CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL);
        CREATE TABLE meta (k INTEGER PRIMARY KEY, n INTEGER NOT NULL);
        INSERT INTO meta VALUES (0, 0);
        """

    /// The app connection's settings. A tiny page cache (32 KiB, whatever the page size) makes
    /// large transactions spill uncommitted frames into the WAL.
    private var settings: String {
        "PRAGMA cache_size = -32; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = \(mix.autocheckpoint)"
    }

    private let node: SimNode
    private let path: String
    private let mix: WorkloadMix
    private let log: CommitLog
    private var random: SplitMix64
    /// Pauses before the app's SQLite calls (nil for none).
    private let preemption: Preemption?
    private var connection: (any SQLiteConnection)?
    /// The model of the table: row values by id, and the ids in an array (with each id's index)
    /// so a seeded pick and a removal are O(1).
    private var rows: [Int64: [UInt8]] = [:]
    private var ids: [Int64] = []
    private var idIndex: [Int64: Int] = [:]
    private var tableBytes = 0
    private var nextID: Int64 = 1
    private var digest = ContentDigest()
    private(set) var commits = 0
    private(set) var busyRetries = 0
    /// Where the app pauses between bursts (`WorkloadMix.idleGapRate`): the world closes every
    /// connection of the app there, and may restart the replicator meanwhile.
    var idleGap: ((AppWorkload) async throws -> Void)?
    /// Set to end `run` before its time (the app of a database that lost its replica location).
    var stopRequested = false

    /// - Parameter firstID: The first row id it inserts: apps whose ids never meet never hold
    ///   the same table (a lease takeover's two databases), so a restore names its history.
    init(
        node: SimNode, path: String, mix: WorkloadMix, log: CommitLog, random: SplitMix64, firstID: Int64 = 1,
        preemption: Preemption? = nil
    ) {
        self.node = node
        self.path = path
        self.mix = mix
        self.log = log
        self.random = random
        nextID = firstID
        self.preemption = preemption
    }

    /// The app's connection to the database, pausing before its calls when the seed says so.
    private func connect() async throws -> any SQLiteConnection {
        let connection = try await node.open(path)
        return preemption.map { PreemptingConnection(base: connection, preemption: $0) } ?? connection
    }

    /// Creates the database in WAL mode with the schema: commit 0.
    func setUp() async throws {
        let connection = try await connect()
        self.connection = connection
        try await connection.execute("PRAGMA page_size = \(mix.pageSize)")
        _ = try await connection.query("PRAGMA journal_mode = wal")
        try await connection.execute(settings)
        try await connection.execute("BEGIN; " + Self.schema + " COMMIT")
        log.record(commit: 0, digest: digest)
    }

    /// Commits transactions until simulated time reaches `end`.
    func run(until end: Duration, clock: SimClock) async throws {
        while clock.now.offset < end && !stopRequested {
            try await commitOne(clock: clock)
            // What an observer of the disk found during the commit, or since the last one.
            try log.throwIfViolated()
            if random.unitInterval() < mix.checkpointRate {
                let mode: CheckpointMode = random.unitInterval() < 0.7 ? .passive : .truncate
                do {
                    let result = try await connection!.checkpoint(mode)
                    SimTrace.record(
                        "app checkpoint \(mode) busy=\(result.busy) frames=\(result.walFrames)/\(result.checkpointedFrames)"
                    )
                } catch let error as SQLiteError where error.isBusy {
                    SimTrace.record("app checkpoint \(mode) SQLITE_BUSY")
                }
            }
            // Drawn only when gaps are on, so seeds without them keep their stream.
            if mix.idleGapRate > 0, random.unitInterval() < mix.idleGapRate, let idleGap, clock.now.offset < end {
                try await idleGap(self)
                continue
            }
            let mean = Double(mix.meanCommitInterval.milliseconds)
            let pause = mean * Self.negativeLog1p(random.unitInterval() * 0.999)
            try await clock.sleep(for: .microseconds(Int64(pause * 1000)))
        }
    }

    /// Closes the app's writing connection (the world closes its second one): with no other
    /// connection open, SQLite checkpoints the WAL into the database and deletes it.
    func closeConnection() async {
        try? await connection?.close()
        connection = nil
    }

    /// Opens the writing connection again after `closeConnection`.
    func openConnection() async throws {
        guard connection == nil else { return }
        let connection = try await connect()
        self.connection = connection
        try await connection.execute(settings)
    }

    /// Commits `count` transactions on a connection opened for them and closed after (the app
    /// writing while the replicator is down, in an idle gap).
    func commitBurst(_ count: Int, clock: SimClock) async throws {
        try await openConnection()
        for _ in 0..<count { try await commitOne(clock: clock) }
        await closeConnection()
    }

    private enum Operation {
        case insert(Int64, [UInt8])
        case update(Int64, [UInt8])
        case delete(Int64)
    }

    /// Draws one transaction, runs it (retrying on SQLITE_BUSY after a simulated pause), then
    /// applies it to the model and logs the new digest.
    private func commitOne(clock: SimClock) async throws {
        var operations: [Operation] = []
        var plannedID = nextID
        // Rows this transaction already touched sit in `ids[available...]`, out of the draw.
        var available = ids.count
        let large = random.unitInterval() < mix.largeTransactionRate
        let full = tableBytes > mix.maxTableBytes
        // A large transaction (20-120 rows of 1-4 KB) is many times the 8-page cache, so it spills.
        let count = large ? 20 + Int(random.next() % 100) : 1 + Int(random.next() % 3)
        for _ in 0..<count {
            let roll = random.unitInterval()
            if !large, roll < mix.deleteRate, available > 0, ids.count > 20 {
                operations.append(.delete(pickUntouched(&available)))
            } else if !large, roll < mix.deleteRate + mix.updateRate, available > 0 {
                operations.append(.update(pickUntouched(&available), blob(large: false)))
            } else if full, available * 2 > ids.count, ids.count > 20 {
                operations.append(.delete(pickUntouched(&available)))
            } else {
                operations.append(.insert(plannedID, blob(large: large)))
                plannedID += 1
            }
        }

        var attempt = 0
        while true {
            do {
                try await execute(operations)
                break
            } catch let error as SQLiteError where error.isBusy {
                _ = try? await connection!.execute("ROLLBACK")
                attempt += 1
                busyRetries += 1
                SimTrace.record("app busy", UInt64(attempt))
                try await clock.sleep(for: .milliseconds(Int64(1 + random.next() % UInt64(min(attempt, 10) * 10))))
            }
        }

        for operation in operations {
            switch operation {
            case .insert(let id, let value):
                rows[id] = value
                tableBytes += value.count
                idIndex[id] = ids.count
                ids.append(id)
                digest.insert(id: id, value: value)
            case .update(let id, let value):
                digest.remove(id: id, value: rows[id]!)
                tableBytes += value.count - rows[id]!.count
                rows[id] = value
                digest.insert(id: id, value: value)
            case .delete(let id):
                let value = rows.removeValue(forKey: id)!
                tableBytes -= value.count
                digest.remove(id: id, value: value)
                let index = idIndex.removeValue(forKey: id)!
                let last = ids.removeLast()
                if index < ids.count {
                    ids[index] = last
                    idIndex[last] = index
                }
            }
        }
        nextID = plannedID
        commits += 1
        log.record(commit: commits, digest: digest)
        // Straight from the disk, not through the file-system port: no fault, no scheduling point.
        if let wal = try? node.disk.stat(path + "-wal", by: node.process) { log.recordWAL(size: wal.size) }
        if log.walFrames != nil, let frames = node.disk.peekWALIndexFrames(databasePath: path) {
            log.recordWAL(frames: frames)
        }
    }

    /// Draws one of the first `available` ids and swaps it behind them, so the same
    /// transaction cannot draw it again.
    private func pickUntouched(_ available: inout Int) -> Int64 {
        let index = Int(random.next() % UInt64(available))
        available -= 1
        let id = ids[index]
        if index != available {
            let other = ids[available]
            ids[index] = other
            idIndex[other] = index
            ids[available] = id
            idIndex[id] = available
        }
        return id
    }

    /// One transaction; a large one runs statement by statement, each its own await, so other
    /// tasks (the replicator) run while its uncommitted frames sit in the WAL.
    private func execute(_ operations: [Operation]) async throws {
        let connection = connection!
        // Single statements through `query`, whose prepared statements the connection keeps.
        _ = try await connection.query("BEGIN IMMEDIATE")
        for operation in operations {
            switch operation {
            case .insert(let id, let value):
                _ = try await connection.query("INSERT INTO t (id, v) VALUES (?, ?)", [.integer(id), .blob(value)])
            case .update(let id, let value):
                _ = try await connection.query("UPDATE t SET v = ? WHERE id = ?", [.blob(value), .integer(id)])
            case .delete(let id):
                _ = try await connection.query("DELETE FROM t WHERE id = ?", [.integer(id)])
            }
            if operations.count > 10 { await Task.yield() }
        }
        _ = try await connection.query("UPDATE meta SET n = n + 1 WHERE k = 0")
        _ = try await connection.query("COMMIT")
    }

    /// Checks the source itself: integrity, the commit counter and the content (invariant 4).
    func checkSource() async throws {
        let connection = connection!
        let integrity = try await connection.query("PRAGMA integrity_check").first?.first?.textValue
        guard integrity == "ok" else {
            throw InvariantViolation.sourceHarmed("integrity_check says \(integrity ?? "nothing")")
        }
        let state = try await DatabaseState.read(connection)
        guard state.commit == commits, state.digest == digest else {
            throw InvariantViolation.sourceHarmed(
                "source holds commit \(state.commit) with \(state.digest), the app committed \(commits) with \(digest)")
        }
    }

    func close() async {
        try? await connection?.close()
        connection = nil
    }

    /// Takes over the database as a restarted app finds it (after a kill or a power loss): opens
    /// it with the app's settings and rebuilds the model from the table, which the caller has
    /// checked is the state of the commit `state.commit`. Ids were inserted in ascending order,
    /// so reading them by id restores the model's insertion order.
    func reopen(expecting state: DatabaseState) async throws {
        let connection = try await connect()
        self.connection = connection
        try await connection.execute(settings)
        rows = [:]
        ids = []
        idIndex = [:]
        tableBytes = 0
        digest = ContentDigest()
        for row in try await connection.query("SELECT id, v FROM t ORDER BY id") {
            guard case .integer(let id) = row[0], case .blob(let value) = row[1] else { continue }
            rows[id] = value
            idIndex[id] = ids.count
            ids.append(id)
            tableBytes += value.count
            digest.insert(id: id, value: value)
        }
        nextID = (ids.last ?? 0) + 1
        commits = state.commit
        precondition(digest == state.digest, "the reopened table differs from the state the caller checked")
    }

    /// `PRAGMA wal_autocheckpoint` on the app's writing connection, whose commits run it.
    func setAutocheckpoint(_ pages: Int) async throws {
        _ = try await connection?.query("PRAGMA wal_autocheckpoint = \(pages)")
    }

    /// Busy retries of earlier incarnations of the app, for the summary.
    func inherit(busyRetries earlier: Int) { busyRetries += earlier }

    private func blob(large: Bool) -> [UInt8] {
        let size = large ? 1000 + Int(random.next() % 3000) : 1 + Int(random.next() % UInt64(mix.maxRowSize))
        var seed = random.next()
        // Half pattern, half noise: compressible like real rows, unique enough to catch a wrong page.
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var index = 0
            while index < size {
                if index & 15 == 0 { seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407 }
                if index & 7 == 0 && index + 8 <= size {
                    // Even bytes from the seed, odd bytes their own index: one store for eight.
                    let odd =
                        UInt64(UInt8(truncatingIfNeeded: index + 1)) << 8 | UInt64(UInt8(truncatingIfNeeded: index + 3))
                        << 24
                        | UInt64(UInt8(truncatingIfNeeded: index + 5)) << 40 | UInt64(
                            UInt8(truncatingIfNeeded: index + 7)) << 56
                    raw.storeBytes(
                        of: ((seed & 0x00ff_00ff_00ff_00ff) | odd).littleEndian, toByteOffset: index, as: UInt64.self)
                    index += 8
                    continue
                }
                buffer[index] =
                    index & 1 == 0
                    ? UInt8(truncatingIfNeeded: seed >> UInt64((index & 7) * 8)) : UInt8(truncatingIfNeeded: index)
                index += 1
            }
            initialized = size
        }
    }

    /// -ln(1 - x): an exponential draw from a uniform one.
    static func negativeLog1p(_ x: Double) -> Double { -log1p(-x) }
}

/// What a copy of the database holds: its commit counter and the digest of its table.
struct DatabaseState: Equatable {
    var commit: Int
    var digest: ContentDigest

    static func read(_ connection: any SQLiteConnection) async throws -> DatabaseState {
        let counter = try await connection.query("SELECT n FROM meta WHERE k = 0").first?.first?.integerValue
        var digest = ContentDigest()
        for row in try await connection.query("SELECT id, v FROM t ORDER BY id") {
            guard case .integer(let id) = row[0], case .blob(let value) = row[1] else {
                throw InvariantViolation.tornRestore("row of unexpected type \(row)")
            }
            digest.insert(id: id, value: value)
        }
        return DatabaseState(commit: Int(counter ?? -1), digest: digest)
    }
}
