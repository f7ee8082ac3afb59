import Core
import Synchronization

/// Opens once the first sync of every database is done: what `--exec` waits for before it
/// starts the application. Each database's replicator reports to its own `events(for:)`.
final class FirstSyncGate: Sendable {
    private struct State {
        var pending: Set<Int>
        var waiters: [@Sendable () -> Void] = []
        var isOpen: Bool { pending.isEmpty }
    }

    private let state: Mutex<State>

    init(databaseCount: Int) {
        state = Mutex(State(pending: Set(0..<databaseCount)))
    }

    /// The sink that database number `database` (0-based, one per replicator) reports to.
    func events(for database: Int) -> any ReplicationEvents {
        DatabaseReporter(gate: self, database: database)
    }

    /// Calls `body` once the gate is open: at once if it already is.
    func whenOpen(_ body: @escaping @Sendable () -> Void) {
        let openNow = state.withLock { state in
            if state.isOpen { return true }
            state.waiters.append(body)
            return false
        }
        if openNow { body() }
    }

    private func completed(_ database: Int) {
        let waiters = state.withLock { state -> [@Sendable () -> Void] in
            guard state.pending.remove(database) != nil, state.isOpen else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter() }
    }

    private struct DatabaseReporter: ReplicationEvents {
        let gate: FirstSyncGate
        let database: Int

        func firstSyncCompleted() { gate.completed(database) }
    }
}
