import Foundation
import TestSupport
import Testing

/// The progress a restore and a verify report when stderr is not a terminal, with the real binary,
/// reading an S3 replica through a proxy that paces its bandwidth.
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
        #expect(!outcome.stdout.contains("progress="), "\(outcome.stdout)")
        return (lines, took)
    }

    /// The replica's bandwidth as the proxy paces it, and how much the writer puts on it: a
    /// download takes at least 24 MiB / 8 MiB/s = 3 s however fast the machine is, well past the
    /// display's one-second threshold.
    private static let bytesPerSecond = 8 << 20
    private static let megabytes = 24

    @Test(
        "a restore or verify longer than a second logs progress lines to stderr (not a terminal) and nothing to stdout")
    func logsProgress() async throws {
        try await blocking {
            try await withMotoReplica(bucket: "sluice-progress") { moto, direct in
                let box = try SluiceSandbox()
                defer { box.remove() }
                let proxy = try FaultProxy(
                    upstream: moto.endpoint, box: box, arguments: ["--bytes-per-second", "\(Self.bytesPerSecond)"])
                defer { proxy.stop() }
                let paced = ReplicaBackendsEndToEndTests.s3URL(bucket: "sluice-progress", endpoint: proxy.endpoint)
                try Self.fillReplica(box, direct)

                let restore = try Self.progressLines(
                    box, ["restore", "-o", box.path("out.db"), paced], marker: "progress=restore: ")
                for line in restore.lines {
                    #expect(
                        line.contains(" MiB downloaded (") && line.contains(" applied") && !line.contains("\r"),
                        "\(line)")
                }
                // The meter moves while the snapshot and the big segment land in the client's
                // spool, not only once each is whole.
                let percents = restore.lines.compactMap(Self.percent)
                #expect(
                    percents.contains { (10...90).contains($0) },
                    "no line caught the download midway: \(percents)")
                print(
                    "restore of a \(Self.megabytes) MiB replica at 8 MiB/s took \(restore.took), "
                        + "\(restore.lines.count) progress lines:\n" + restore.lines.joined(separator: "\n"))

                // verify shows the same meter, counting bytes and objects.
                let verify = try Self.progressLines(box, ["verify", paced], marker: "progress=verify ")
                for line in verify.lines {
                    #expect(line.contains(" read, ") && line.contains(" objects checked"), "\(line)")
                }
                #expect(
                    verify.lines.last.map { !$0.contains(" 0 objects checked") } ?? false, "the meter never moved")
                let read = verify.lines.compactMap(Self.mebibytesRead)
                let stored = Double(Self.megabytes)
                #expect(
                    read.contains { $0 > stored * 0.1 && $0 < stored * 0.9 },
                    "no line caught the verify's reading midway (MiB): \(read)")
            }
        }
    }

    /// The percentage a restore progress line shows ("... downloaded (42%) ...").
    private static func percent(_ line: Substring) -> Int? {
        guard let close = line.range(of: "%)"), let open = line[..<close.lowerBound].lastIndex(of: "(") else {
            return nil
        }
        return Int(line[line.index(after: open)..<close.lowerBound])
    }

    /// The amount a verify progress line has read ("... 12.5 MiB read, ..."), in MiB.
    private static func mebibytesRead(_ line: Substring) -> Double? {
        guard let verb = line.range(of: " read, ") else { return nil }
        let words = line[..<verb.lowerBound].split(separator: " ")
        guard words.count >= 2, let value = Double(words[words.count - 2]) else { return nil }
        let scale: [Substring: Double] = ["B": 1.0 / 1_048_576, "KiB": 1.0 / 1024, "MiB": 1, "GiB": 1024]
        return scale[words[words.count - 1]].map { value * $0 }
    }

    /// Replicates one big incompressible transaction and a few small ones to `replica`, unpaced,
    /// and stops the replicator once the replica holds them.
    private static func fillReplica(_ box: SluiceSandbox, _ replica: String) throws {
        try box.writer("app.db", ["init"])
        let replicator = try box.startReplicate("app.db", replicas: [replica])
        try box.writer("app.db", ["big", "--mb", "\(megabytes)"])
        try box.writer("app.db", ["small", "--count", "20"])
        let shipped = eventually(timeout: .seconds(120)) {
            let plan = try? box.sluice(["restore", "--dry-run", "--json", "-o", box.path("probe.db"), replica])
            let document = plan.flatMap {
                try? JSONSerialization.jsonObject(with: Data($0.stdout.utf8)) as? [String: Any]
            }
            return (document?["download_bytes"] as? Int ?? 0) > megabytes << 20
        }
        #expect(shipped, "the \(megabytes) MiB transaction never reached the replica; log:\n\(replicator.log)")
        #expect(try replicator.terminate() == 0)
    }
}
