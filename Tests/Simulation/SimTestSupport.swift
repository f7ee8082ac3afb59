import Core
import Foundation
import SQLite
import SimHarness
import Testing

/// A simulated wall clock that tests (and `xSleep`) advance by hand.
// @unchecked: `milliseconds` is guarded by `lock`.
final class ManualWallClock: @unchecked Sendable {
    private let lock = NSLock()
    private var milliseconds: Int64

    init(millisecondsSince1970: Int64 = 1_700_000_000_000) { milliseconds = millisecondsSince1970 }

    func now() -> Timestamp { lock.withLock { Timestamp(millisecondsSince1970: milliseconds) } }

    func advance(by duration: Duration) { lock.withLock { milliseconds += duration.milliseconds } }
}

/// One simulated process in a test: its VFS (registered under its own name), its view of the
/// file system and its SQLite connections.
// @unchecked: used by one test's task at a time.
final class TestProcess: @unchecked Sendable {
    let process: SimProcess
    let vfs: SimVFS
    let fileSystem: SimFileSystem
    let opener: SQLiteDatabaseOpener
    private(set) var connections: [any SQLiteConnection] = []

    init(
        disk: SimDisk, name: String, clock: ManualWallClock, seed: UInt64, asDefault: Bool = false,
        powersafeOverwrite: Bool = true
    ) throws {
        process = disk.startProcess(named: name)
        vfs = SimVFS(
            disk: disk, process: process, random: SplitMix64(seed: seed), wallClock: { clock.now() },
            sleep: { clock.advance(by: $0) }, powersafeOverwrite: powersafeOverwrite)
        try vfs.register(asDefault: asDefault)
        fileSystem = SimFileSystem(disk: disk, process: process)
        opener = SQLiteDatabaseOpener(vfsName: asDefault ? nil : vfs.name, runner: InlineRunner())
    }

    func open(_ path: String, busyTimeoutMilliseconds: Int32 = 0) async throws -> any SQLiteConnection {
        let connection = try await opener.open(
            path, options: SQLiteOpenOptions(create: true, busyTimeoutMilliseconds: busyTimeoutMilliseconds))
        connections.append(connection)
        return connection
    }

    /// Closes every connection (errors are expected after a kill or power loss) and unregisters the VFS.
    func shutdown() async {
        for connection in connections { try? await connection.close() }
        connections = []
        vfs.unregister()
    }
}

extension SQLiteConnection {
    func text(_ sql: String) async throws -> String? {
        try await query(sql).first?.first?.textValue
    }

    func integers(_ sql: String) async throws -> [Int64] {
        try await query(sql).compactMap { $0.first?.integerValue }
    }
}
