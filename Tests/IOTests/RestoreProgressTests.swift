import Foundation
import TestSupport
import Testing

/// The progress a restore and a verify report when stderr is not a terminal, with the real binary.
@Suite("sluice restore and verify: progress lines", .serialized)
struct RestoreProgressTests {
    /// Runs `arguments` with progress logged every 200 ms; its progress lines, checked to exist,
    /// and how long it took. Fails if the command failed or printed progress on stdout.
    private static func progressLines(
        _ box: SluiceSandbox, _ arguments: [String],
        marker: String
    ) throws -> (lines: [Substring], took: Duration) {
        let started = ContinuousClock.now
        let outcome = try box.sluice([arguments[0], "--progress-interval", "200ms"] + arguments.dropFirst())
        let took = ContinuousClock.now - started
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let lines = outcome.stderr.split(separator: "\n").filter { $0.contains(marker) }
        try #require(took > .seconds(1.5), "\(arguments[0]) took \(took): too short for this test to mean anything")
        #expect(!lines.isEmpty, "a \(took) \(arguments[0]) logged no progress:\n\(outcome.stderr)")
        #expect(!outcome.stdout.contains("progress"))
        return (lines, took)
    }

    @Test(
        "a restore or verify longer than a second logs progress lines to stderr (not a terminal) and nothing to stdout")
    func logsProgress() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            let replicator = try box.startReplicate("app.db", replicas: [box.url("replica")])
            try box.writer("app.db", ["big", "--mb", "128"])
            try box.writer("app.db", ["small", "--count", "20"])
            let shipped = eventually(timeout: .seconds(120)) {
                let plan = try? box.sluice([
                    "restore", "--dry-run", "--json", "-o", box.path("probe.db"),
                    box.url("replica"),
                ])
                let document = plan.flatMap {
                    try? JSONSerialization.jsonObject(with: Data($0.stdout.utf8)) as? [String: Any]
                }
                return (document?["download_bytes"] as? Int ?? 0) > 128 << 20
            }
            #expect(shipped, "the 128 MiB transaction never reached the replica; log:\n\(replicator.log)")
            #expect(try replicator.terminate() == 0)

            let restore = try Self.progressLines(
                box, ["restore", "-o", box.path("out.db"), box.url("replica")],
                marker: "progress=restore: ")
            for line in restore.lines {
                #expect(
                    line.contains(" MiB downloaded (") && line.contains(" applied") && !line.contains("\r"),
                    "\(line)")
            }
            print(
                "restore of a 128 MiB replica took \(restore.took), \(restore.lines.count) progress lines; "
                    + "first: \(restore.lines.first ?? "none")")

            // verify shows the same meter, counting bytes and objects.
            let verify = try Self.progressLines(box, ["verify", box.url("replica")], marker: "progress=verify ")
            for line in verify.lines {
                #expect(line.contains(" read, ") && line.contains(" objects checked"), "\(line)")
            }
            #expect(verify.lines.last.map { !$0.contains(" 0 objects checked") } ?? false, "the meter never moved")
        }
    }
}
