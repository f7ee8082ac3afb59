/// Where the engine's background tasks run. Production passes `nil` (the global executor); the
/// simulator passes its own task executor, because unstructured tasks do not inherit a parent's
/// executor preference and would otherwise escape the simulation.
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
}
