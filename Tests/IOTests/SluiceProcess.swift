import Foundation
import Testing

/// Runs the real `sluice` binary and the Python writer fixture for the end-to-end tests.
///
/// The binary is `$SLUICE_BIN`, else `<package root>/.build/debug/sluice` (Scripts/test builds it
/// before running the tests).
struct SluiceSandbox {
    /// What a finished process left behind.
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: String {
        ProcessInfo.processInfo.environment["SLUICE_BIN"]
            ?? packageRoot.appendingPathComponent(".build/debug/sluice").path
    }

    static let writerScript = packageRoot.appendingPathComponent("Tests/IOTests/Fixtures/writer.py").path

    let folder: TemporaryDirectory
    var directory: URL { folder.url }

    init() throws {
        folder = try TemporaryDirectory("sluice-e2e")
    }

    func remove() {
        folder.remove()
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    func url(_ name: String) -> String { "file://" + path(name) }

    /// Whether anything exists at `name` inside the sandbox.
    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    /// Writes `text` as a config file in the sandbox and returns its path.
    func writeConfig(_ text: String, name: String = "litestream.yml") throws -> String {
        try text.write(toFile: path(name), atomically: false, encoding: .utf8)
        return path(name)
    }

    /// Every entry directly inside the sandbox, sorted.
    func entries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    // MARK: Processes

    /// Runs sluice to completion, with `environment` added to the test process's own.
    @discardableResult
    func sluice(
        _ arguments: [String], timeout: Duration = .seconds(120), environment: [String: String] = [:]
    ) throws -> Outcome {
        try run(Self.binary, arguments, timeout: timeout, environment: environment)
    }

    /// Runs the writer fixture against the database `database` (a sandbox name) to completion and
    /// requires success.
    @discardableResult
    func writer(
        _ database: String, _ arguments: [String], timeout: Duration = .seconds(300),
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> String {
        let outcome = try run(
            "/usr/bin/env", ["python3", Self.writerScript, path(database)] + arguments, timeout: timeout)
        try #require(
            outcome.status == 0, "writer \(arguments) failed: \(outcome.stderr)", sourceLocation: sourceLocation)
        return outcome.stdout
    }

    /// Starts `sluice replicate` in the background with short intervals.
    func startReplicate(_ database: String, replicas: [String], extra: [String] = []) throws -> BackgroundProcess {
        try BackgroundProcess(
            executable: Self.binary,
            arguments: ["replicate", path(database)] + replicas
                + ["--sync-interval", "100ms", "--monitor-interval", "100ms"] + extra,
            logPath: path("replicate-\(UInt32.random(in: 0...UInt32.max)).log"))
    }

    private func run(
        _ executable: String, _ arguments: [String], timeout: Duration, environment: [String: String] = [:]
    ) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.currentDirectoryURL = directory
        // Pipes are drained through files so a chatty process never blocks on a full pipe.
        // They live outside the sandbox, whose listing the bad-input test compares.
        let scratch = try TemporaryDirectory("sluice-e2e-output")
        defer { scratch.remove() }
        let stdoutPath = scratch.file("stdout")
        let stderrPath = scratch.file("stderr")
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let stdoutHandle = try Foundation.FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        let stderrHandle = try Foundation.FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardOutput = stdoutHandle
        process.standardError = stderrHandle
        try process.run()
        let finished = waitForExit(process, timeout: timeout)
        try? stdoutHandle.close()
        try? stderrHandle.close()
        if !finished { killAndReap(process) }
        let outcome = Outcome(
            status: finished ? process.terminationStatus : -1,
            stdout: (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")
        try #require(finished, "\(executable) \(arguments) did not finish in \(timeout): \(outcome.stderr)")
        return outcome
    }
}

/// SIGKILLs `process` if it runs and waits for Foundation to see it exit, at most 30 s: under a
/// heavily loaded machine Foundation once missed a child's exit, and an unbounded
/// `waitUntilExit` in a deinit then held the whole suite for over 15 minutes.
func killAndReap(_ process: Process) {
    guard process.isRunning else { return }
    kill(process.processIdentifier, SIGKILL)
    _ = waitForExit(process, timeout: .seconds(30))
}

/// Waits for `process` to exit, at most `timeout`; true when it did.
func waitForExit(_ process: Process, timeout: Duration) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while process.isRunning {
        if ContinuousClock.now >= deadline { return false }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return true
}

/// Polls `condition` every 100 ms until it holds or `timeout` passes; true when it held.
func eventually(timeout: Duration = .seconds(60), _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.1)
    }
    return try condition()
}

/// A process left running (sluice replicate), with its stderr in a log file.
final class BackgroundProcess {
    let process = Process()
    let logPath: String

    /// Starts `executable`; `environment`, when given, replaces the test process's own.
    init(executable: String, arguments: [String], logPath: String, environment: [String: String]? = nil) throws {
        self.logPath = logPath
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try Foundation.FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Sends SIGTERM and waits for the final sync and exit; returns the exit status.
    func terminate(timeout: Duration = .seconds(120), sourceLocation: SourceLocation = #_sourceLocation) throws -> Int32
    {
        kill(process.processIdentifier, SIGTERM)
        let exited = waitForExit(process, timeout: timeout)
        if !exited { killAndReap(process) }
        try #require(
            exited, "sluice replicate did not exit after SIGTERM; log:\n\(log)", sourceLocation: sourceLocation)
        return process.terminationStatus
    }

    /// SIGKILL, then reaps it: for the application, which need not stop cleanly (the test
    /// runner's threads may block SIGTERM, and a child inherits that).
    func killNow() { killAndReap(process) }

    deinit { killAndReap(process) }
}
