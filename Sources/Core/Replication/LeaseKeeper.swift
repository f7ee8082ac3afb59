/// Keeps a replica's lease fresh while an attempt (an upload, a snapshot, retention) runs.
///
/// Renewed only between an attempt's steps, a lease ran out whenever one request of the attempt
/// hung longer than two thirds of it: a healthy replicator was then presumed dead and another
/// could take its location over. So the keeper renews on the lease's own schedule beside the
/// attempt; the syncer serialises its renewals with the attempt's own (`renewLeaseIfDue`).
///
/// The keeper is stopped by a signal, not by cancellation, so a renewal on its way when the
/// attempt ends is allowed to finish: cut short after the store applied it, it would leave the
/// syncer holding a version of the lease object that is no longer there, and the next renewal
/// would read its own write as a takeover.
enum LeaseKeeper {
    /// Runs `attempt` with a keeper beside it. A lost lease (`LeaseError`) found by the keeper
    /// cancels the attempt and is thrown; otherwise the attempt's own outcome is.
    static func run(
        _ attempt: @escaping @Sendable () async throws -> Void, syncer: ReplicaSyncer, environment: Environment
    ) async throws {
        guard await syncer.timeUntilLeaseRenewal() != nil else { return try await attempt() }
        let stop = WakeSignal()
        let outcome = await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                defer { stop.signal() }
                do {
                    try await attempt()
                    return .attempt(nil)
                } catch {
                    return .attempt(error)
                }
            }
            group.addTask {
                do {
                    try await keep(syncer, until: stop, environment: environment)
                    return .keeper(nil)
                } catch {
                    return .keeper(error)
                }
            }
            var attemptError: (any Error)?
            var leaseError: LeaseError?
            while let next = await group.next() {
                switch next {
                case .attempt(let error):
                    attemptError = error
                case .keeper(let error as LeaseError):
                    leaseError = error
                    group.cancelAll()
                case .keeper:
                    break
                }
            }
            return (attemptError, leaseError)
        }
        if let leaseError = outcome.1 {
            if let attemptError = outcome.0, !(attemptError is CancellationError) {
                environment.logger.warning(
                    "replica attempt failed as the lease was lost",
                    metadata: ["replica": "\(syncer.client.location)", "error": "\(attemptError)"])
            }
            throw leaseError
        }
        if let attemptError = outcome.0 { throw attemptError }
    }

    private enum Outcome: Sendable {
        case attempt((any Error)?)
        case keeper((any Error)?)
    }

    /// Renews whenever the lease falls due until `stop` is signalled; a failed renewal is tried
    /// again a second later.
    private static func keep(_ syncer: ReplicaSyncer, until stop: WakeSignal, environment: Environment) async throws {
        while let untilRenewal = await syncer.timeUntilLeaseRenewal() {
            if try await stop.wait(timeout: max(untilRenewal, .seconds(1)), clock: environment.clock) { return }
            try await renew(syncer, environment: environment)
        }
    }

    /// Renews the lease if due; `LeaseError` ends replication, other errors are logged and the
    /// renewal is tried again at the next chance.
    static func renew(_ syncer: ReplicaSyncer, environment: Environment) async throws {
        do {
            try await syncer.renewLeaseIfDue()
        } catch let error as LeaseError {
            throw error
        } catch {
            if Task.isCancelled { throw CancellationError() }
            environment.logger.warning(
                "renewing the replica lease failed; trying again",
                metadata: ["replica": "\(syncer.client.location)", "error": "\(error)"])
        }
    }
}
