import Foundation
import Glibc

/// A command started with `posix_spawnp` for `--exec`: the same standard input, output and
/// error as sluice, the same environment, found on `PATH` as a shell finds it, and no shell.
///
/// SIGINT and SIGTERM are back to their default action and unblocked in the child: sluice
/// ignores them itself (`SignalHandling`), and an ignored disposition would otherwise be
/// inherited across exec, leaving an application that cannot be stopped.
///
/// One thread of its own waits for the exit (`waitpid`), so reaping never holds a thread of
/// Swift's cooperative pool.
final class ChildProcess: Sendable {
    /// How a child ended, as a shell reports it.
    enum Termination: Equatable, Sendable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        /// The status a shell gives: the exit code, or 128 plus the signal's number.
        var shellStatus: Int32 {
            switch self {
            case .exited(let code): return code
            case .signalled(let number): return 128 + number
            }
        }

        var description: String {
            switch self {
            case .exited(let code): return "exited with status \(code)"
            case .signalled(let number): return "was killed by signal \(number)"
            }
        }
    }

    /// Why the command could not be started.
    struct SpawnError: Error, CustomStringConvertible {
        var command: String
        var errno: Int32

        /// 127 for a command not found, 126 for one found but not executable, as shells exit.
        var shellStatus: Int32 { errno == ENOENT ? 127 : 126 }

        var description: String {
            "cannot start \(command): \(String(cString: strerror(errno)))"
        }
    }

    let pid: pid_t

    private init(pid: pid_t) {
        self.pid = pid
    }

    /// Starts `arguments[0]` with the rest as its arguments; `onExit` is called once, from the
    /// waiting thread, when it has ended, just before it is reaped.
    static func spawn(_ arguments: [String], onExit: @escaping @Sendable (Termination) -> Void) throws -> ChildProcess {
        precondition(!arguments.isEmpty, "a command has at least its name")
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, argv[0]!, nil, &attributes, argv, environ)
        guard result == 0 else { throw SpawnError(command: arguments[0], errno: result) }
        let child = ChildProcess(pid: pid)
        let waiter = Thread { child.waitForExit(then: onExit) }
        waiter.name = "sluice-exec-wait"
        waiter.stackSize = 64 << 10
        waiter.start()
        return child
    }

    /// Sends `signal` to the child. Safe until `onExit` has returned: the child is reaped (and
    /// its id free for reuse) only after that, so the caller stops signalling it in `onExit`.
    func send(_ signal: Int32) {
        kill(pid, signal)
    }

    /// Blocks until the child ends, calls `onExit`, then reaps it.
    private func waitForExit(then onExit: (Termination) -> Void) {
        var info = siginfo_t()
        // WNOWAIT leaves the child a zombie while `onExit` runs, so its id cannot be reused by
        // another process that a late `send` would then hit.
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == -1 {
            guard errno == EINTR else { break }
        }
        let status = info._sifields._sigchld.si_status
        let termination: Termination = info.si_code == CLD_EXITED ? .exited(status) : .signalled(status)
        onExit(termination)
        var reaped: Int32 = 0
        while waitpid(pid, &reaped, 0) == -1 && errno == EINTR {}
    }
}
