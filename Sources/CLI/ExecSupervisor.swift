import Foundation
import Glibc
import Logging
import Synchronization

/// Runs an application under replication (`sluice replicate --exec "CMD ARGS"`), the way a
/// container runs its one process:
///
/// 1. Replication starts; the command starts once the first sync of every database is done
///    (`FirstSyncGate`), so the application never writes a database that has no replica yet.
/// 2. SIGINT and SIGTERM go to the command, each one, and sluice keeps replicating.
/// 3. When the command exits, sluice cancels replication (one last sync of every database and
///    replica) and exits with the command's status, or 128 plus the signal that killed it.
/// 4. If replication fails for good (a lost lease), sluice sends the command SIGTERM, then
///    SIGKILL after `stopGracePeriod`, and exits with status 1 and the reason in one line.
///
/// A signal before the command started stops replication as plain `replicate` does (exit 0);
/// one after the command exited, while the final sync runs, exits at once with status 1.
struct ExecSupervisor {
    /// The command and its arguments (`ShellWords.split` of the flag's value).
    var command: [String]
    var logger: Logger
    /// How long the command has to exit after SIGTERM before it is killed.
    var stopGracePeriod: Duration = .seconds(10)

    /// Replication ended for good while the command ran; the command was stopped.
    struct ReplicationFailed: Error, CustomStringConvertible {
        var command: String
        var reason: String

        var description: String { "replication failed, so \(command) was stopped: \(reason)" }
    }

    private enum Event: Sendable {
        case ready
        case stopRequested
        case childExited(ChildProcess.Termination)
        case replicationEnded((any Error)?)
    }

    /// Supervises until the command and replication have both ended; returns sluice's exit status.
    ///
    /// - Parameters:
    ///   - gate: Opens when the first sync of every database is done.
    ///   - replication: Replicates every database until cancelled, then syncs once more; an
    ///     error it throws is fatal.
    /// - Throws: `ReplicationFailed` after stopping the command, or replication's own error if
    ///   it failed before the command started.
    func run(gate: FirstSyncGate, replication: Task<Void, any Error>) async throws -> Int32 {
        let (events, continuation) = AsyncStream<Event>.makeStream()
        let router = SignalRouter()
        let signals = SignalHandling.install(onEverySignal: { number in
            if router.route(number) { continuation.yield(.stopRequested) }
        })
        defer { withExtendedLifetime(signals) {} }
        gate.whenOpen { continuation.yield(.ready) }
        let watcher = Task {
            do {
                try await replication.value
                continuation.yield(.replicationEnded(nil))
            } catch {
                continuation.yield(.replicationEnded(error))
            }
        }
        defer { watcher.cancel() }

        var exitedWith: ChildProcess.Termination?
        var fatal: (any Error)?
        var killTimer: Task<Void, Never>?
        defer { killTimer?.cancel() }
        for await event in events {
            switch event {
            case .ready:
                do {
                    guard
                        let child = try router.start({
                            try ChildProcess.spawn(
                                command,
                                onExit: { termination in
                                    router.childExited()
                                    continuation.yield(.childExited(termination))
                                })
                        })
                    else { continue }
                    logger.info(
                        "first sync done; started the command",
                        metadata: ["command": "\(command[0])", "pid": "\(child.pid)"])
                } catch let error as ChildProcess.SpawnError {
                    StandardError.write("error: \(error)\n")
                    replication.cancel()
                    _ = await replication.result
                    return error.shellStatus
                }
            case .stopRequested:
                logger.info("signal received before the command started; syncing replicas before exit")
                replication.cancel()
            case .childExited(let termination):
                exitedWith = termination
                killTimer?.cancel()
                logger.info("the command ended", metadata: ["command": "\(command[0])", "status": "\(termination)"])
                // After a fatal error replication has already ended; otherwise it syncs once more.
                if fatal == nil { replication.cancel() }
            case .replicationEnded(let error):
                let error = error.flatMap { $0 is CancellationError ? nil : $0 }
                if let exitedWith {
                    if let error {
                        logger.error("replication failed during the final sync", metadata: ["error": "\(error)"])
                    }
                    return exitedWith.shellStatus
                }
                guard let child = router.stopping() else {
                    // The command never started: a signal stopped replication, or it failed first.
                    if let error { throw error }
                    return 0
                }
                let reason = error.map { CLIError.describe($0) } ?? "replication stopped"
                fatal = ReplicationFailed(command: command[0], reason: reason)
                logger.critical(
                    "replication failed; stopping the command",
                    metadata: ["command": "\(command[0])", "error": "\(reason)"])
                child.send(SIGTERM)
                let grace = stopGracePeriod
                killTimer = Task {
                    guard (try? await Task.sleep(for: grace)) != nil else { return }
                    router.killIfRunning()
                }
            }
            if let fatal, exitedWith != nil { throw fatal }
        }
        return 1 // Unreachable: the stream never finishes.
    }
}

/// Where a signal goes while `ExecSupervisor` runs, and the child's life, under one lock: a
/// signal is forwarded only while the child is known to be running (and not yet reaped).
private final class SignalRouter: Sendable {
    private enum State {
        case starting(signalled: Bool)
        case running(ChildProcess)
        case stopping(ChildProcess)
        case childExited
    }

    private let state = Mutex(State.starting(signalled: false))

    /// Routes one signal; true when it asks replication to stop (the child has not started).
    func route(_ number: Int32) -> Bool {
        let action = state.withLock { state -> Bool? in
            switch state {
            case .starting(let signalled):
                if signalled { return nil }
                state = .starting(signalled: true)
                return true
            case .running(let child), .stopping(let child):
                child.send(number)
                return false
            case .childExited:
                return nil
            }
        }
        guard let action else { SignalHandling.exitWithoutFinalSync() }
        return action
    }

    /// Starts the child unless a signal already asked to stop; nil if one did.
    func start(_ spawn: () throws -> ChildProcess) throws -> ChildProcess? {
        try state.withLock { state in
            guard case .starting(signalled: false) = state else { return nil }
            let child = try spawn()
            state = .running(child)
            return child
        }
    }

    /// Replication ended while the child runs: returns it, to be stopped; nil if there is none.
    func stopping() -> ChildProcess? {
        state.withLock { state in
            guard case .running(let child) = state else { return nil }
            state = .stopping(child)
            return child
        }
    }

    /// The child has exited (called before it is reaped): no signal goes to it any more.
    func childExited() {
        state.withLock { $0 = .childExited }
    }

    /// SIGKILL for a child still running after its grace period.
    func killIfRunning() {
        state.withLock { state in
            if case .stopping(let child) = state { child.send(SIGKILL) }
        }
    }
}
