import Core
import Logging
import SQLite

/// One simulated process on one simulated machine, with everything Core needs to run in it:
/// its SQLite VFS (registered under its own name), its view of the disk and its `Environment`.
///
/// Call `shutdown()` when the run ends: it unregisters the VFS, which SQLite would otherwise
/// keep (and keep the disk alive) for the rest of the host process.
public final class SimNode: Sendable {
    public let disk: SimDisk
    public let process: SimProcess
    public let vfs: SimVFS
    public let fileSystem: SimFileSystem
    public let opener: SimSQLiteOpener
    public let environment: Environment

    /// - Parameter asDefault: Registers the VFS as SQLite's default and reseeds SQLite's PRNG from
    ///   it. Only for a process of its own (`sluice sim`): the default VFS is process-global.
    public init(
        disk: SimDisk, name: String, scheduler: SimScheduler, asDefault: Bool = false,
        logger: Logger? = nil
    ) throws {
        self.disk = disk
        process = disk.startProcess(named: name)
        let wallClock = SimWallClock(scheduler: scheduler)
        // xSleep cannot suspend a simulated task (it runs inside one synchronous job), so it
        // passes no simulated time; SQLite's own short waits (inside a WAL read's retries) are
        // instant, and connections have no busy handler (`SimSQLiteOpener`).
        vfs = SimVFS(
            disk: disk, process: process, random: scheduler.randomSource("vfs-\(name)"),
            wallClock: { wallClock.now() })
        try vfs.register(asDefault: asDefault)
        fileSystem = SimFileSystem(disk: disk, process: process)
        opener = SimSQLiteOpener(base: SQLiteDatabaseOpener(vfsName: vfs.name, runner: InlineRunner()))
        environment = SimEnvironment.make(
            scheduler: scheduler, fileSystem: fileSystem, sqlite: opener,
            randomStream: "env-\(name)", wallClock: wallClock, logger: logger)
    }

    /// Opens (creating) `path` in this process, without a busy handler (see `SimSQLiteOpener`).
    public func open(_ path: String) async throws -> any SQLiteConnection {
        try await opener.open(path, options: SQLiteOpenOptions(create: true))
    }

    public func shutdown() {
        vfs.unregister()
    }
}

/// Opens connections through a process's SimVFS with SQLite's busy handler off.
///
/// A connection's call runs to its end inside one job of the simulator's one thread, and `xSleep`
/// passes no simulated time, so while SQLite's busy handler retries, no other connection can run
/// and no lock can change hands: every retry finds the locks as they were, and the call ends in
/// SQLITE_BUSY after the handler's whole schedule of retries (about sixty, at 5 s). Without the
/// handler the call ends in the same SQLITE_BUSY at once; callers handle it by sleeping on the
/// SimClock, which is where waiting for a lock happens in a simulated run. Every timeout a
/// caller asks for (the app's 5 s, Core's `busyTimeout`) is overridden so.
///
/// With the world's fault classes trace digests are the same with and without the handler (the
/// retries cost up to 7% of a seed's time). A disk with per-call fault rates for reads or
/// metadata (`DiskFaults`, set by some tests) would differ: each futile retry repeats file calls,
/// and each of those draws a fault. Those draws are an artifact of retrying without time passing,
/// and are gone with the handler.
public struct SimSQLiteOpener: SQLiteOpener {
    public let base: SQLiteDatabaseOpener

    public func open(_ path: String, options: SQLiteOpenOptions) async throws -> any SQLiteConnection {
        var options = options
        options.busyTimeoutMilliseconds = 0
        return try await base.open(path, options: options)
    }
}
