import Core
import Logging
import SQLite

/// The real world, bound to the engine's ports.
public enum ProductionEnvironment {
    /// POSIX files, the continuous clock (sleeping in the pool's timers, `PoolClock`), system time
    /// and randomness, SQLite on its default VFS, inotify for WAL change notices, with every blocking call sharing one pool of
    /// `threads` threads, which is also where the engine's tasks run (`TaskSpawner`): there its
    /// calls need no handoff.
    public static func make(logger: Logger, threads: Int = 4) -> Environment {
        let runner = ThreadPoolRunner(threads: threads)
        return Environment(
            fileSystem: POSIXFileSystem(runner: runner),
            clock: PoolClock(runner: runner),
            wallClock: SystemWallClock(),
            random: SystemRandom(),
            sqlite: SQLiteDatabaseOpener(runner: runner),
            spawner: TaskSpawner(executor: runner),
            logger: logger,
            changeNotifier: changeNotifier)
    }

    /// One inotify instance and reader thread for the whole process, however many databases it
    /// replicates; nil where the kernel refuses one (the monitor polls then).
    static let changeNotifier: InotifyChangeNotifier? = InotifyChangeNotifier()
}
