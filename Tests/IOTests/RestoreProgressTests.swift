import Foundation
import Testing
import TestSupport

/// The progress a restore reports when stderr is not a terminal, with the real binary.
@Suite("sluice restore: progress lines", .serialized)
struct RestoreProgressTests {
    @Test("a restore longer than a second logs progress lines to stderr (not a terminal) and nothing to stdout")
    func logsProgress() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            let replicator = try box.startReplicate("app.db", replicas: [box.url("replica")])
            try box.writer("app.db", ["big", "--mb", "128"])
            try box.writer("app.db", ["small", "--count", "20"])
            let shipped = eventually(timeout: .seconds(120)) {
                let plan = try? box.sluice(["restore", "--dry-run", "--json", "-o", box.path("probe.db"),
                                            box.url("replica")])
                let document = plan.flatMap {
                    try? JSONSerialization.jsonObject(with: Data($0.stdout.utf8)) as? [String: Any]
                }
                return (document?["download_bytes"] as? Int ?? 0) > 128 << 20
            }
            #expect(shipped, "the 128 MiB transaction never reached the replica; log:\n\(replicator.log)")
            #expect(try replicator.terminate() == 0)

            let started = ContinuousClock.now
            let outcome = try box.sluice(["restore", "--progress-interval", "200ms", "-o", box.path("out.db"),
                                          box.url("replica")])
            let took = ContinuousClock.now - started
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let lines = outcome.stderr.split(separator: "\n").filter { $0.contains("progress=restore: ") }
            try #require(took > .seconds(1.5), "the restore took \(took): too short for this test to mean anything")
            #expect(!lines.isEmpty, "a \(took) restore logged no progress:\n\(outcome.stderr)")
            for line in lines {
                #expect(line.contains(" MiB downloaded (") && line.contains(" applied") && !line.contains("\r"),
                        "\(line)")
            }
            #expect(!outcome.stdout.contains("progress"))
            print("restore of a 128 MiB replica took \(took), \(lines.count) progress lines; "
                  + "first: \(lines.first ?? "none")")
        }
    }
}
