import Core
import Logging
import SQLite

/// One simulated process on one simulated machine, with everything Core needs to run in it:
/// its SQLite VFS (registered under its own name), its view of the disk and its `Environment`.
///
/// Call `shutdown()` when the run ends: it unregisters the VFS, which SQLite would otherwise
/// keep (and keep the disk alive) for the rest of the host process.
public final class SimNode: @unchecked Sendable {
    public let disk: SimDisk
    public let process: SimProcess
    public let vfs: SimVFS
    public let fileSystem: SimFileSystem
    public let opener: SQLiteDatabaseOpener
    public let environment: Environment

    /// - Parameter asDefault: Registers the VFS as SQLite's default and reseeds SQLite's PRNG from
    ///   it. Only for a process of its own (`sluice sim`): the default VFS is process-global.
    public init(disk: SimDisk, name: String, scheduler: SimScheduler, asDefault: Bool = false,
                logger: Logger? = nil) throws {
        self.disk = disk
        process = disk.startProcess(named: name)
        let wallClock = SimWallClock(scheduler: scheduler)
        // xSleep cannot suspend a simulated task (it runs inside one synchronous job), so a busy
        // wait costs no simulated time: SQLite's busy handler gives up after its fixed schedule
        // of sleeps and the caller sees SQLITE_BUSY, which it must handle by sleeping on the SimClock.
        vfs = SimVFS(disk: disk, process: process, random: scheduler.randomSource("vfs-\(name)"),
                     wallClock: { wallClock.now() })
        try vfs.register(asDefault: asDefault)
        fileSystem = SimFileSystem(disk: disk, process: process)
        opener = SQLiteDatabaseOpener(vfsName: vfs.name, runner: InlineRunner())
        environment = SimEnvironment.make(scheduler: scheduler, fileSystem: fileSystem, sqlite: opener,
                                          randomStream: "env-\(name)", wallClock: wallClock, logger: logger)
    }

    public func open(_ path: String, busyTimeoutMilliseconds: Int32 = 0) async throws -> any SQLiteConnection {
        try await opener.open(path, options: SQLiteOpenOptions(create: true, busyTimeoutMilliseconds: busyTimeoutMilliseconds))
    }

    public func shutdown() {
        vfs.unregister()
    }
}
