import Logging

/// Every effect the engine may use, injected as one value: production binds real files, clocks
/// and SQLite; the simulator binds its own. Core reaches the outside world through nothing else.
public struct Environment: Sendable {
    public var fileSystem: any FileSystem
    /// Sleeping and deadlines.
    public var clock: any Clock<Duration>
    /// Timestamps for names and listings.
    public var wallClock: any WallClock
    public var random: any RandomSource
    public var sqlite: any SQLiteOpener
    public var spawner: TaskSpawner
    public var logger: Logger
    /// Told of every generation the replicator starts or continues (the simulator's oracle
    /// judges whether each new one had a cause); nil in production.
    public var generationObserver: GenerationObserver?
    /// Notices of WAL changes; nil makes the monitor poll the WAL instead.
    public var changeNotifier: (any FileChangeNotifier)?

    public init(
        fileSystem: any FileSystem, clock: any Clock<Duration>, wallClock: any WallClock,
        random: any RandomSource, sqlite: any SQLiteOpener, spawner: TaskSpawner = TaskSpawner(),
        logger: Logger, generationObserver: GenerationObserver? = nil,
        changeNotifier: (any FileChangeNotifier)? = nil
    ) {
        self.fileSystem = fileSystem
        self.clock = clock
        self.wallClock = wallClock
        self.random = random
        self.sqlite = sqlite
        self.spawner = spawner
        self.logger = logger
        self.generationObserver = generationObserver
        self.changeNotifier = changeNotifier
    }
}

/// A generation decision of the replicator.
public enum GenerationEvent: Sendable, Equatable {
    /// A new generation began, for the reason given (which the log line names too).
    case started(Generation, reason: String)
    /// A start continued the generation its local state recorded.
    case continued(Generation)
}

/// Receives `GenerationEvent`s, synchronously, on the replicator's task.
public typealias GenerationObserver = @Sendable (GenerationEvent) -> Void
