import Core
import Logging

/// Builds Core's `Environment` over a simulation run: SimClock, SimWallClock, a seeded random
/// stream and the simulator's task spawner. The file system and SQLite opener come from the
/// simulated disk and VFS, built separately.
public enum SimEnvironment {
    /// - Parameters:
    ///   - randomStream: Names this environment's random stream; give each simulated process
    ///     its own name so their draws stay independent.
    ///   - logger: Defaults to a logger that drops everything.
    public static func make(
        scheduler: SimScheduler, fileSystem: any FileSystem, sqlite: any SQLiteOpener,
        randomStream: String = "environment",
        wallClock: SimWallClock? = nil,
        logger: Logger? = nil
    ) -> Environment {
        Environment(
            fileSystem: fileSystem,
            clock: scheduler.clock,
            wallClock: wallClock ?? SimWallClock(scheduler: scheduler),
            random: scheduler.randomSource(randomStream),
            sqlite: sqlite,
            spawner: scheduler.spawner,
            logger: logger ?? Logger(label: "sluice.sim") { _ in SwiftLogNoOpLogHandler() })
    }
}
