import Core
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Shows a `ProgressMeter` while a long command runs: on a terminal, one line on stderr
/// rewritten in place a few times a second; otherwise (a log file, a pipe) an info log line
/// every `logInterval`. Nothing appears for operations shorter than a second.
///
/// The display samples the meter from its own task; the operation never waits for it.
final class ProgressDisplay: Sendable {
    private let task: Task<Void, Never>
    private let isTerminal: Bool

    /// How often a terminal line is redrawn.
    static let redrawInterval: Duration = .milliseconds(250)
    /// How long an operation runs before anything is shown.
    static let threshold: Duration = .seconds(1)

    private init(task: Task<Void, Never>, isTerminal: Bool) {
        self.task = task
        self.isTerminal = isTerminal
    }

    /// Starts sampling `meter`; stop with `finish`.
    static func start(_ meter: ProgressMeter, label: String, logger: Logger, logInterval: Duration) -> ProgressDisplay {
        let isTerminal = isatty(STDERR_FILENO) == 1
        let started = ContinuousClock.now
        let task = Task {
            let pause = isTerminal ? redrawInterval : logInterval
            let first = max(threshold, isTerminal ? threshold : logInterval)
            guard (try? await Task.sleep(for: first)) != nil else { return }
            while !Task.isCancelled {
                let line = ProgressLine.render(meter.reading(label: label, elapsed: ContinuousClock.now - started))
                if isTerminal {
                    StandardError.write("\r" + line + "\u{1B}[K")
                } else {
                    logger.info("progress", metadata: ["progress": "\(line)"])
                }
                guard (try? await Task.sleep(for: pause)) != nil else { return }
            }
        }
        return ProgressDisplay(task: task, isTerminal: isTerminal)
    }

    /// Runs `body`, then stops the display, whether `body` succeeds or throws.
    func around<T>(_ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            await finish()
            return result
        } catch {
            await finish()
            throw error
        }
    }

    /// Stops the display; on a terminal, the last line is cleared so the command's own output
    /// starts on a clean line.
    func finish() async {
        task.cancel()
        await task.value
        if isTerminal { StandardError.write("\r\u{1B}[K") }
    }
}
