import Core
import Foundation
import IO
import Logging
import Testing

@Suite("ProductionEnvironment")
struct ProductionEnvironmentTests {
    @Test("the wall clock tracks system time in milliseconds")
    func wallClock() {
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        let now = SystemWallClock().now().millisecondsSince1970
        let after = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(now >= before - 1 && now <= after + 1)
    }

    @Test("the monitor gets WAL change notices (inotify), one notifier for every environment of the process")
    func changeNotices() {
        let logger = Logger(label: "test")
        let first = ProductionEnvironment.make(logger: logger, threads: 1).changeNotifier
        let second = ProductionEnvironment.make(logger: logger, threads: 1).changeNotifier
        #expect(first != nil, "without notices every idle database is polled")
        #expect((first as? InotifyChangeNotifier) === (second as? InotifyChangeNotifier))
    }

    @Test("system randomness does not repeat")
    func randomness() {
        let random = SystemRandom()
        let draws = Set((0..<64).map { _ in random.next() })
        #expect(draws.count == 64)
    }

    @Test("the environment's file system and SQLite work together on real files")
    func environment() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let env = ProductionEnvironment.make(logger: Logger(label: "test"), threads: 2)
        let path = dir.file("db.sqlite")
        let db = try await env.sqlite.open(path, options: SQLiteOpenOptions(create: true))
        try await db.execute("PRAGMA journal_mode=WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1)")
        try await db.setPersistentWAL(true)
        try await db.close()
        let names = try await env.fileSystem.list(dir.path)
        #expect(names.first == "db.sqlite" && names.contains("db.sqlite-wal"), "\(names)")
        let walHeader = try await env.fileSystem.open(path + "-wal", mode: .readOnly)
        let magic = try await walHeader.read(at: 0, count: 4)
        #expect(magic == [0x37, 0x7f, 0x06, 0x82] || magic == [0x37, 0x7f, 0x06, 0x83])
        try await walHeader.close()

        let generation = Generation.make(at: env.wallClock.now(), random: env.random)
        #expect(generation.creationTime <= env.wallClock.now())
        #expect(env.clock is PoolClock)
    }
}
