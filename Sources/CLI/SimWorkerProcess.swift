import Glibc

/// One seed of `sluice sim --jobs J` run in a child process of its own (`sluice sim --seed N
/// --worker`), so that seeds running at the same time share nothing:
///
/// - SQLite's process-wide state. Debian's SQLite is built with unlock-notify, which takes one
///   global mutex at the end of every transaction; two seeds on two threads of one process spent
///   a quarter of their time queued on it (1.3 of 2 cores busy).
/// - The default VFS and SQLite's PRNG, which only one seed per process may own. In its own
///   process every seed registers the simulated VFS as the default and resets the PRNG, so a
///   seed's bytes (WAL salts included), not only its trace digest, are the same in a range as
///   alone.
///
/// The child prints what a single seed prints, then one line `sim-worker <failed> <seconds>
/// <attoseconds>` that this parses; it never prints the summary.
enum SimWorkerProcess {
    static let resultPrefix = "sim-worker "

    /// Runs `arguments` (after the executable) as a child of this very executable and returns the
    /// seed's outcome. A child that dies or prints no result line is a failed seed.
    static func run(seed: UInt64, arguments: [String], reproduce: String) -> SimCommand.SeedOutcome {
        var output = ""
        let status: Int32
        do {
            (output, status) = try spawnAndCollect(arguments)
        } catch {
            return SimCommand.SeedOutcome(simulated: .zero, failed: true,
                                          output: "seed \(seed) FAILED: could not start a worker process: \(error)\n\(reproduce)")
        }
        var lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while lines.last == "" { lines.removeLast() }
        if status == 0, let last = lines.last, let outcome = parse(last) {
            lines.removeLast()
            return SimCommand.SeedOutcome(simulated: outcome.simulated, failed: outcome.failed, output: lines.joined(separator: "\n"))
        }
        let how = (status & 0x7f) != 0 ? "was killed by signal \(status & 0x7f)" : "exited with status \((status >> 8) & 0xff)"
        lines.append("seed \(seed) FAILED: its worker process \(how) before reporting")
        lines.append(reproduce)
        return SimCommand.SeedOutcome(simulated: .zero, failed: true, output: lines.joined(separator: "\n"))
    }

    /// The result line a worker prints last.
    static func resultLine(failed: Bool, simulated: Duration) -> String {
        let (seconds, attoseconds) = simulated.components
        return "\(resultPrefix)\(failed ? 1 : 0) \(seconds) \(attoseconds)"
    }

    static func parse(_ line: String) -> (failed: Bool, simulated: Duration)? {
        guard line.hasPrefix(resultPrefix) else { return nil }
        let fields = line.dropFirst(resultPrefix.count).split(separator: " ")
        guard fields.count == 3, let failed = Int(fields[0]), failed == 0 || failed == 1,
              let seconds = Int64(fields[1]), let attoseconds = Int64(fields[2]) else { return nil }
        return (failed == 1, Duration(secondsComponent: seconds, attosecondsComponent: attoseconds))
    }

    struct SpawnError: Error, CustomStringConvertible {
        var call: String
        var code: Int32
        var description: String { "\(call): \(String(cString: strerror(code)))" }
    }

    /// posix_spawn of /proc/self/exe with `arguments`, its stdout into a pipe read to the end;
    /// stderr is inherited. Returns the output and the wait status.
    private static func spawnAndCollect(_ arguments: [String]) throws -> (String, Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SpawnError(call: "pipe", code: errno) }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        // Close-on-exec, so a sibling worker spawned meanwhile does not inherit this pipe (and
        // keep it open past this child's exit).
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on the new descriptor 1; both pipe ends close in the child.
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        let argv = (["sluice"] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, "/proc/self/exe", &actions, nil, argv, environ)
        close(writeEnd)
        guard spawned == 0 else {
            close(readEnd)
            throw SpawnError(call: "posix_spawn", code: spawned)
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if count > 0 { bytes += buffer[..<count]; continue }
            if count < 0 && errno == EINTR { continue }
            break
        }
        close(readEnd)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (String(decoding: bytes, as: UTF8.self), status)
    }
}
