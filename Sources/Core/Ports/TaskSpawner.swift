/// Where the engine's tasks run. Production passes its blocking-call pool, so that a unit of work
/// (a shadow pass, an upload, a restore step) makes its file and SQLite calls in place on one
/// pool thread instead of handing each to it (DESIGN §2); the simulator passes its own task
/// executor, because unstructured tasks do not inherit a parent's executor preference and would
/// otherwise escape the simulation. `nil` is the global executor.
public struct TaskSpawner: Sendable {
    public var executor: (any TaskExecutor)?

    public init(executor: (any TaskExecutor)? = nil) {
        self.executor = executor
    }

    /// Starts an unstructured task on the injected executor.
    @discardableResult
    public func spawn<T: Sendable>(
        _ operation: @escaping @Sendable () async throws -> T
    ) -> Task<T, any Error> {
        Task(executorPreference: executor, operation: operation)
    }

    /// Runs `body` in the calling task with the injected executor preferred, so that it and its
    /// child tasks run there.
    public func run<T>(_ body: () async throws -> T) async rethrows -> T {
        try await withTaskExecutorPreference(executor, operation: body)
    }
}
