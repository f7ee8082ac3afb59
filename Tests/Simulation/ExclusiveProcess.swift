import Foundation
import TestSupport
import Testing

/// Runs a test body in a child copy of the test binary, alone.
///
/// Why: SQLite's default VFS and its PRNG are process globals. Registering the simulator's VFS as
/// the default (what `sluice sim` does in its own process) would send every other suite's
/// `vfsName: nil` connection to the simulated disk, and their draws would perturb the seeded
/// PRNG. Swift Testing runs suites of all targets in parallel in one process, so tests that need
/// the default VFS re-run themselves in a child process with only their suite selected.
enum ExclusiveProcess {
    static let variable = "SLUICE_SIM_EXCLUSIVE"

    /// True inside the child.
    static var isChild: Bool { ProcessInfo.processInfo.environment[variable] == "1" }

    /// Runs the tests matching `filter` in a child test process and records its failure output.
    static func run(filter: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await blocking { try runAndWait(filter: filter, sourceLocation: sourceLocation) }
    }

    private static func runAndWait(filter: String, sourceLocation: SourceLocation) throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.arguments = ["--testing-library", "swift-testing", "--filter", filter]
        var environment = ProcessInfo.processInfo.environment
        environment[variable] = "1"
        environment["SWIFT_DETERMINISTIC_HASHING"] = "1"
        child.environment = environment
        let output = Pipe()
        child.standardOutput = output
        child.standardError = output
        try child.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        #expect(child.terminationStatus == 0, "child test run failed:\n\(text)", sourceLocation: sourceLocation)
        #expect(text.contains("passed"), "child ran no passing test:\n\(text)", sourceLocation: sourceLocation)
    }
}
