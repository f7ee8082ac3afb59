/// Runs blocking work (SQLite calls, fsync, pread) somewhere it cannot starve Swift's
/// cooperative pool. Production runs it on a small dedicated thread pool and resumes with a
/// continuation; the simulator runs it inline on its one thread, where "blocking" calls are
/// instantaneous in-memory operations.
public protocol BlockingRunner: Sendable {
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T
}

/// Runs the body right away on the calling thread. For the simulator and for tests.
public struct InlineRunner: BlockingRunner {
    public init() {}

    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try body()
    }
}
