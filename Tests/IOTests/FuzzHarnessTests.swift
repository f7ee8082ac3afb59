import Foundation
import TestSupport
import Testing

/// Runs the libFuzzer target (Fuzz/SluiceFuzz.swift, built by Scripts/fuzz with
/// `swiftc -sanitize=fuzzer,address`) for a bounded time over the object-name parsers, the LZ4
/// decoder, seals and the WAL stream verifier: a crash, a sanitizer report, a timeout or an
/// out-of-memory on any input fails the test, and the input is kept in the output folder the
/// failure names.
@Suite("Fuzzing: replica parsers under libFuzzer")
struct FuzzHarnessTests {
    @Test("libFuzzer: 20 seconds over names, LZ4 frames, seals and WAL streams find no crash")
    func fuzz() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            let process = Process()
            process.executableURL = SluiceSandbox.packageRoot.appendingPathComponent("Scripts/fuzz")
            process.arguments = ["20"]
            var environment = ProcessInfo.processInfo.environment
            environment["OUT_DIR"] = box.path("crashes")
            environment["TMPDIR"] = box.directory.path
            process.environment = environment
            let log = box.path("fuzz.log")
            #expect(FileManager.default.createFile(atPath: log, contents: nil))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            let finished = waitForExit(process, timeout: .seconds(300))
            try? handle.close()
            if !finished { killAndReap(process) }
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(finished, "the fuzzer did not stop in time:\n\(output)")
            #expect(process.terminationStatus == 0, "the fuzzer failed:\n\(output)")
            #expect(output.contains("Done "), "the fuzzer did not run:\n\(output)")
            let crashes = (try? FileManager.default.contentsOfDirectory(atPath: box.path("crashes"))) ?? []
            #expect(crashes.isEmpty, "crashing inputs: \(crashes)")
        }
    }
}
