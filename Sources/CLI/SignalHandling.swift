import Dispatch
import Glibc
import Synchronization

/// SIGINT and SIGTERM handling for long-running commands.
///
/// The first signal calls `onFirstSignal` (replicate cancels its task, and the engine does a final
/// sync of the database and every replica before returning, so exit is clean and status 0). A
/// second signal while that is under way means the user wants out now: the process exits at once
/// with status 1, skipping the final sync; nothing is lost that the next run cannot pick up, since
/// the replica's listing is the truth about where it stands.
///
/// The default dispositions are ignored and the signals are received through dispatch sources,
/// so the handler runs as ordinary code rather than in async-signal context.
// @unchecked: `sources` is set once in `start` before any signal can arrive; `count` is a Mutex.
final class SignalHandling: @unchecked Sendable {
    private let count = Mutex(0)
    private var sources: [DispatchSourceSignal] = []

    /// Starts watching SIGINT and SIGTERM; keep the returned value alive while the command runs.
    static func install(onFirstSignal: @escaping @Sendable (Int32) -> Void) -> SignalHandling {
        let handling = SignalHandling()
        handling.watch { [handling] number in handling.received(number, onFirstSignal: onFirstSignal) }
        return handling
    }

    /// Starts watching SIGINT and SIGTERM and hands every one to `onSignal`, which decides what
    /// a second one means (`ExecSupervisor` forwards each to its child).
    static func install(onEverySignal: @escaping @Sendable (Int32) -> Void) -> SignalHandling {
        let handling = SignalHandling()
        handling.watch(onEverySignal)
        return handling
    }

    private func watch(_ handler: @escaping @Sendable (Int32) -> Void) {
        let queue = DispatchQueue(label: "sluice.signals")
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            sources.append(source)
        }
    }

    /// What a signal during the final sync does: exit at once with status 1.
    static func exitWithoutFinalSync() -> Never {
        StandardError.write("error: second signal received; exiting without a final sync\n")
        Sluice.terminate(1)
    }

    private func received(_ number: Int32, onFirstSignal: (Int32) -> Void) {
        let isFirst = count.withLock { value in
            value += 1
            return value == 1
        }
        if isFirst {
            onFirstSignal(number)
        } else {
            Self.exitWithoutFinalSync()
        }
    }
}
