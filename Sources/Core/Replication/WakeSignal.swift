import Synchronization

/// Wakes one waiting loop: a replica's upload loop when the shadow WAL gained frames, so that
/// uploads follow commits instead of a timer in series with the monitor's (DESIGN §3); the
/// monitor when a `FileChangeSubscription` reports that the WAL changed.
///
/// Level-triggered: a signal given while nobody waits is kept for the next wait, so a pass that
/// copies frames during an upload is never missed. One loop waits on it at a time.
public final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        /// Resumed with true by a signal, false by cancellation.
        var waiter: CheckedContinuation<Bool, Never>?
        /// Set by a cancellation that found no waiter yet: the wait it meant to end returns at once.
        var cancelled = false
    }

    private let state = Mutex(State())

    public init() {}

    /// Wakes the waiting loop, or the next wait if none waits now.
    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: true)
    }

    /// Forgets a signal given before now: called as an upload starts, since that upload takes
    /// everything the shadow holds.
    public func clear() {
        state.withLock { $0.pending = false }
    }

    /// Whether a signal is kept for the next wait.
    public var isPending: Bool { state.withLock { $0.pending } }

    /// Returns true when signalled (at once for a signal kept from before), false after
    /// `timeout` on `clock`; throws `CancellationError` when the task is cancelled.
    public func wait(timeout: Duration, clock: any Clock<Duration>) async throws -> Bool {
        if state.withLock({ state in
            defer { state.pending = false }
            return state.pending
        }) {
            return true
        }
        let signalled = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                try? await clock.sleep(for: timeout)
                return false
            }
            group.addTask { await self.waitForSignal() }
            var signalled = await group.next() ?? false
            group.cancelAll()
            // A signal given as the timeout fired resumes the waiter after the first result was
            // taken; dropped here, it would be lost (a lease keeper stopped at that instant then
            // waited for a stop that had already come, and its attempt never ended).
            for await other in group { signalled = signalled || other }
            return signalled
        }
        try Task.checkCancellation()
        return signalled
    }

    /// True when a signal ended the wait, false when cancellation did.
    private func waitForSignal() async -> Bool {
        state.withLock { $0.cancelled = false }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let resumeNow = state.withLock { state -> Bool? in
                    if state.cancelled { return false }
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return nil
                }
                if let resumeNow { continuation.resume(returning: resumeNow) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                state.cancelled = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: false)
        }
    }
}
