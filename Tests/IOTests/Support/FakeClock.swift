import Foundation
import Glibc
import Testing

/// A fast fake clock for the real `sluice` binary, made with libfaketime (`LD_PRELOAD`): every
/// process a test starts through it sees one timeline that begins at 2026-01-01 00:00:00 UTC and
/// runs `rate` times faster than real time, across restarts.
///
/// Each process gets `FAKETIME="@<timeline now> x<rate>"`, so its wall clock, its monotonic and
/// boot-time clocks (what `ContinuousClock` and the thread pool's timed waits read), its sleeps
/// and the file times its `stat` calls return all move at `rate`, from where the timeline is when
/// it starts. Within one process every difference of times is exactly `rate` times the real one,
/// file times included, so the tests compare real file times scaled by `rate` with the
/// intervals they configured. A rewritten `FAKETIME_TIMESTAMP_FILE` that jumps the clock would
/// not do: libfaketime shifts file times by the offset in force when they are read, so a
/// snapshot written before a jump would look younger after it.
struct FakeClock {
    /// Fake seconds per real second.
    let rate: Int
    /// The libfaketime shared object.
    let library: String
    /// Real time at which the timeline is at `Self.start`.
    let origin: Double = realNow()

    /// 2026-01-01 00:00:00 UTC, where every timeline begins.
    static let start: Double = 1_767_225_600

    /// The libfaketime shared object: `$SLUICE_TEST_LIBFAKETIME` (Scripts/test sets it from
    /// `dpkg -L libfaketime`), else the usual Debian and source-install paths. Missing, the tests
    /// fail: Scripts/setup installs it, so under Scripts/test it is never skipped.
    static func library(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        if let configured = ProcessInfo.processInfo.environment["SLUICE_TEST_LIBFAKETIME"], !configured.isEmpty {
            try #require(
                FileManager.default.fileExists(atPath: configured),
                "SLUICE_TEST_LIBFAKETIME=\(configured) does not exist", sourceLocation: sourceLocation)
            return configured
        }
        var machine = utsname()
        uname(&machine)
        let architecture = withUnsafeBytes(of: machine.machine) {
            String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
        }
        let candidates = [
            "/usr/lib/\(architecture)-linux-gnu/faketime/libfaketime.so.1",
            "/usr/lib/faketime/libfaketime.so.1",
            "/usr/local/lib/faketime/libfaketime.so.1",
        ]
        let found = candidates.first { FileManager.default.fileExists(atPath: $0) }
        return try #require(
            found, "libfaketime is missing (looked at \(candidates)): run ./Scripts/setup",
            sourceLocation: sourceLocation)
    }

    init(rate: Int, library: String) {
        self.rate = rate
        self.library = library
    }

    /// The timeline's time (seconds since 1970) at real time `real`.
    func fake(_ real: Double) -> Double { Self.start + (real - origin) * Double(rate) }

    /// How long `duration` of fake time takes in real time, in seconds.
    func real(_ duration: Duration) -> Double { seconds(duration) / Double(rate) }

    /// A real span as fake minutes, for messages.
    func minutes(realSeconds: Double) -> String {
        String(format: "%.1f min", realSeconds * Double(rate) / 60)
    }

    /// A real time as the timeline's UTC time, for messages.
    func label(_ real: Double) -> String {
        var seconds = time_t(fake(real).rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%02d:%02d:%02d", parts.tm_hour + 24 * Int32(parts.tm_yday), parts.tm_min, parts.tm_sec)
    }

    /// The environment of a process that joins the timeline now.
    func environment() -> [String: String] {
        var seconds = time_t(fake(realNow()).rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let stamp = String(
            format: "%04d-%02d-%02d %02d:%02d:%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec)
        var environment = ProcessInfo.processInfo.environment
        environment["LD_PRELOAD"] = library
        environment["FAKETIME"] = "@\(stamp) x\(rate)"
        // The default, spelled out: the monotonic clocks must move too, or every sleep would
        // take its full length in real time.
        environment["FAKETIME_DONT_FAKE_MONOTONIC"] = "0"
        // libfaketime reads the "@" time as local time.
        environment["TZ"] = "UTC"
        environment.removeValue(forKey: "FAKETIME_SHARED")
        return environment
    }

    /// Starts `sluice arguments` on the timeline, in the sandbox's folder.
    func sluice(_ arguments: [String], box: SluiceSandbox, log: String) throws -> FakeTimeProcess {
        try FakeTimeProcess(clock: self, arguments: arguments, logPath: box.path(log))
    }
}

/// A `sluice` process on a `FakeClock`, stopped by PID.
///
/// It is started through `/usr/bin/env` under the same preload. libfaketime keeps a semaphore
/// and shared memory per process tree (named by PID in /dev/shm) and announces them to children
/// in `FAKETIME_SHARED`. A Swift program that has to create them itself starts with no
/// arguments at all (`CommandLine.arguments` empty: seen with Swift 6.3 and libfaketime 0.9.10),
/// so `env` creates them and execs `sluice`, which finds them. Neither removes them (`exec`,
/// and sluice ends with `_exit`), so this does, by the PID they share.
final class FakeTimeProcess {
    let background: BackgroundProcess

    init(clock: FakeClock, arguments: [String], logPath: String) throws {
        background = try BackgroundProcess(
            executable: "/usr/bin/env", arguments: [SluiceSandbox.binary] + arguments,
            logPath: logPath, environment: clock.environment())
    }

    var pid: pid_t { background.process.processIdentifier }
    var isRunning: Bool { background.process.isRunning }
    var log: String { background.log }

    /// SIGTERM, then waits for the final sync and exit; returns the exit status.
    func terminate(sourceLocation: SourceLocation = #_sourceLocation) throws -> Int32 {
        defer { removeSharedMemory() }
        return try background.terminate(sourceLocation: sourceLocation)
    }

    private func removeSharedMemory() {
        unlink("/dev/shm/faketime_shm_\(pid)")
        unlink("/dev/shm/sem.faketime_sem_\(pid)")
    }

    deinit {
        if background.process.isRunning {
            kill(pid, SIGKILL)
            _ = waitForExit(background.process, timeout: .seconds(30))
        }
        removeSharedMemory()
    }
}

/// The real time, in seconds since 1970 (the test process itself runs on the real clock).
func realNow() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// A duration in seconds.
func seconds(_ duration: Duration) -> Double {
    let (whole, attoseconds) = duration.components
    return Double(whole) + Double(attoseconds) / 1e18
}
