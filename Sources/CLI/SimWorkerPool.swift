import Glibc
import IO
import SimHarness
import Synchronization

/// The child processes `sluice sim --jobs J` runs its seeds in: J long-lived workers
/// (`sluice sim --worker ...`), each running one seed at a time, fed seed numbers on its stdin.
/// Seeds running at the same time then share nothing:
///
/// - SQLite's process-wide state. Debian's SQLite is built with unlock-notify, which takes one
///   global mutex at the end of every transaction; two seeds on two threads of one process queued
///   on it.
/// - The default VFS and SQLite's PRNG, which only one seed per process may own. In a worker every
///   seed registers the simulated VFS as the default and resets the PRNG, so a seed's bytes (WAL
///   salts included), not only its trace digest, are the same in a range as alone.
///
/// A worker stays alive across seeds so that it reuses its memory; a process per seed spent a
/// sixth of its time faulting in a fresh heap. For each seed it prints what a seed of a range
/// prints, then one line `sim-worker <failed> <seconds> <attoseconds> <commits> <largest WAL bytes>
/// <longest snapshot gap ms> <snapshot interval ms> <generations started> <generations continued>
/// <damaged objects> <restores that met damage>`
/// (the gap and interval -1 without scheduled snapshots).
final class SimWorkerPool: Sendable {
    static let resultPrefix = "sim-worker "

    private let arguments: [String]
    private let idle = Mutex<[Worker]>([])

    /// - Parameter arguments: The worker's arguments after the executable.
    init(arguments: [String]) {
        self.arguments = arguments
        // A worker that died leaves its stdin pipe without a reader: writing to it must fail
        // with EPIPE (handled below), not kill this process.
        signal(SIGPIPE, SIG_IGN)
    }

    deinit {
        for worker in idle.withLock({ $0 }) { worker.finish() }
    }

    /// Runs `seed` on an idle worker (starting one if none is idle) and returns its outcome. A
    /// worker that dies or prints no result line while running the seed makes the seed a failure
    /// and is replaced; one found dead before the seed was handed over is just replaced.
    func run(seed: UInt64, reproduce: String) -> SimCommand.SeedOutcome {
        var worker = idle.withLock { $0.popLast() }
        if let found = worker, !found.send("\(seed)\n") {
            found.finish()
            worker = nil
        }
        if worker == nil {
            do {
                worker = try Worker(arguments: arguments)
            } catch {
                return SimCommand.SeedOutcome(
                    simulated: .zero, failureClass: .crash,
                    output: "seed \(seed) FAILED: could not start a worker process: \(error)\n\(reproduce)")
            }
            guard worker!.send("\(seed)\n") else {
                let status = worker!.finish()
                return SimCommand.SeedOutcome(
                    simulated: .zero, failureClass: .crash,
                    output:
                        "seed \(seed) FAILED: a new worker process ended at once (wait status \(status))\n\(reproduce)")
            }
        }
        let running = worker!
        var lines: [String] = []
        while let line = running.readLine() {
            if let outcome = Self.parse(line) {
                idle.withLock { $0.append(running) }
                return SimCommand.SeedOutcome(
                    simulated: outcome.simulated, failureClass: outcome.failureClass,
                    output: lines.joined(separator: "\n"), commits: outcome.commits,
                    largestWAL: outcome.largestWAL, snapshotGap: outcome.snapshotGap,
                    generationsStarted: outcome.generations.started,
                    generationsContinued: outcome.generations.continued,
                    damagedObjects: outcome.damagedObjects, restoresMetDamage: outcome.restoresMetDamage)
            }
            lines.append(line)
        }
        let status = running.finish()
        let how =
            (status & 0x7f) != 0
            ? "was killed by signal \(status & 0x7f)" : "exited with status \((status >> 8) & 0xff)"
        lines.append("seed \(seed) FAILED: its worker process \(how) before reporting")
        lines.append(reproduce)
        return SimCommand.SeedOutcome(simulated: .zero, failureClass: .crash, output: lines.joined(separator: "\n"))
    }

    /// The result line a worker prints after each seed.
    static func resultLine(_ outcome: SimCommand.SeedOutcome) -> String {
        let (seconds, attoseconds) = outcome.simulated.components
        let gap = outcome.snapshotGap.map { "\($0.gapMilliseconds) \($0.intervalMilliseconds)" } ?? "-1 -1"
        return
            "\(resultPrefix)\(outcome.failureClass?.rawValue ?? 0) \(seconds) \(attoseconds) \(outcome.commits) \(outcome.largestWAL) \(gap)"
            + " \(outcome.generationsStarted) \(outcome.generationsContinued) \(outcome.damagedObjects) \(outcome.restoresMetDamage)"
    }

    static func parse(_ line: String) -> (
        failureClass: SimFailureClass?, simulated: Duration, commits: Int, largestWAL: Int64,
        snapshotGap: SimCommand.SnapshotGap?, generations: (started: Int, continued: Int),
        damagedObjects: Int, restoresMetDamage: Int
    )? {
        guard line.hasPrefix(resultPrefix) else { return nil }
        let fields = line.dropFirst(resultPrefix.count).split(separator: " ")
        // The first field is 0 for a pass, else the failure class's exit status.
        guard fields.count == 11, let failed = Int32(fields[0]),
            failed == 0 || SimFailureClass(rawValue: failed) != nil,
            let seconds = Int64(fields[1]), let attoseconds = Int64(fields[2]), let commits = Int(fields[3]),
            let largestWAL = Int64(fields[4]), let gap = Int64(fields[5]), let interval = Int64(fields[6]),
            let started = Int(fields[7]), let continued = Int(fields[8]),
            let damagedObjects = Int(fields[9]), let restoresMetDamage = Int(fields[10])
        else { return nil }
        let snapshotGap = gap < 0 ? nil : SimCommand.SnapshotGap(gapMilliseconds: gap, intervalMilliseconds: interval)
        return (
            SimFailureClass(rawValue: failed), Duration(secondsComponent: seconds, attosecondsComponent: attoseconds),
            commits, largestWAL, snapshotGap,
            (started, continued), damagedObjects, restoresMetDamage
        )
    }

    struct SpawnError: Error, CustomStringConvertible {
        var call: String
        var code: Int32
        var description: String { "\(call): \(String(cString: strerror(code)))" }
    }

    /// One worker process: /proc/self/exe with the pool's arguments, its stdin and stdout piped
    /// to this process; stderr is inherited. Used by one pool thread at a time, handed between
    /// them through the pool's lock.
    // @unchecked: used by one pool thread at a time, handed over through the pool's lock.
    private final class Worker: @unchecked Sendable {
        let pid: pid_t
        private var input: Int32
        private let output: Int32
        private var buffered: [UInt8] = []
        private var chunk = [UInt8](repeating: 0, count: 64 << 10)
        private var ended = false

        init(arguments: [String]) throws {
            let (toChildRead, toChildWrite) = try Self.pipe()
            let (fromChildRead, fromChildWrite) = try Self.pipe()
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            // dup2 clears close-on-exec on descriptors 0 and 1; every pipe end itself closes.
            posix_spawn_file_actions_adddup2(&actions, toChildRead, 0)
            posix_spawn_file_actions_adddup2(&actions, fromChildWrite, 1)
            let argv = (["sluice"] + arguments).map { strdup($0) } + [nil]
            defer { for pointer in argv { free(pointer) } }
            var pid = pid_t()
            let spawned = posix_spawn(&pid, "/proc/self/exe", &actions, nil, argv, environ)
            close(toChildRead)
            close(fromChildWrite)
            guard spawned == 0 else {
                close(toChildWrite)
                close(fromChildRead)
                throw SpawnError(call: "posix_spawn", code: spawned)
            }
            self.pid = pid
            input = toChildWrite
            output = fromChildRead
        }

        /// A pipe whose ends close on exec, so no sibling worker inherits them.
        private static func pipe() throws -> (Int32, Int32) {
            var fds: [Int32] = [0, 0]
            guard Glibc.pipe(&fds) == 0 else { throw SpawnError(call: "pipe", code: errno) }
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
            return (fds[0], fds[1])
        }

        func send(_ text: String) -> Bool {
            Array(text.utf8).withUnsafeBytes { POSIX.writeAll(input, $0) } == 0
        }

        /// The next line of the worker's output, without its newline; nil at end of output.
        func readLine() -> String? {
            while true {
                if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffered[..<newline], as: UTF8.self)
                    buffered.removeSubrange(...newline)
                    return line
                }
                if ended {
                    guard !buffered.isEmpty else { return nil }
                    defer { buffered = [] }
                    return String(decoding: buffered, as: UTF8.self)
                }
                let count = chunk.withUnsafeMutableBytes { raw in
                    POSIX.retryingInterrupts { read(output, raw.baseAddress, raw.count) }
                }
                if count <= 0 { ended = true } else { buffered += chunk[..<count] }
            }
        }

        /// Closes its stdin (a worker exits at end of input), waits for it and returns the wait
        /// status.
        @discardableResult
        func finish() -> Int32 {
            if input >= 0 {
                close(input)
                input = -1
            }
            close(output)
            var status: Int32 = 0
            _ = POSIX.retryingInterrupts { waitpid(pid, &status, 0) }
            return status
        }
    }
}
