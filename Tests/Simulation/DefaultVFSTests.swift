import Core
import SQLite
import SimHarness
import Testing

/// SimVFS as SQLite's default VFS: seeded randomness, simulated time, reproducible images.
/// Each test re-runs itself alone in a child process (see `ExclusiveProcess`).
@Suite("SimVFS as default", .serialized)
struct DefaultVFSTests {
    struct Outcome: Equatable {
        var random: String
        var now: String
        var durableDigest: UInt64
        var crashedDigest: UInt64
    }

    /// One seeded run: a WAL workload on a fresh disk through `vfsName: nil`, then a power loss.
    static func run(seed: UInt64) async throws -> Outcome {
        let disk = SimDisk()
        let clock = ManualWallClock(millisecondsSince1970: 1_700_000_000_000)
        let process = try TestProcess(disk: disk, name: "app", clock: clock, seed: seed, asDefault: true)
        let connection = try await process.open("/db")
        _ = try await connection.query("PRAGMA journal_mode = wal")
        try await connection.execute("PRAGMA synchronous = FULL; CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
        for _ in 0..<20 { _ = try await connection.query("INSERT INTO t (v) VALUES (randomblob(1500))") }
        _ = try await connection.checkpoint(.restart)
        for _ in 0..<5 { _ = try await connection.query("INSERT INTO t (v) VALUES (randomblob(700))") }
        let random = try #require(try await connection.text("SELECT hex(randomblob(8))"))
        clock.advance(by: .seconds(60))
        let now = try #require(try await connection.text("SELECT datetime('now')"))
        let durable = disk.durableDigest()
        disk.kill(process.process)
        await process.shutdown()
        disk.crash(random: SplitMix64(seed: seed), model: DiskCrashModel(sectorGarbageRate: 0.2))
        return Outcome(random: random, now: now, durableDigest: durable, crashedDigest: disk.durableDigest())
    }

    @Test("SimVFS as default: randomblob, WAL salts and the disk image follow the seed; datetime('now') is simulated")
    func determinism() async throws {
        guard ExclusiveProcess.isChild else { return try await ExclusiveProcess.run(filter: "DefaultVFSTests") }
        let first = try await Self.run(seed: 42)
        let again = try await Self.run(seed: 42)
        let other = try await Self.run(seed: 43)
        #expect(first == again)
        #expect(first.random != other.random)
        #expect(first.durableDigest != other.durableDigest)
        #expect(first.random.count == 16)
        #expect(first.now == "2023-11-14 22:14:20")
    }
}
