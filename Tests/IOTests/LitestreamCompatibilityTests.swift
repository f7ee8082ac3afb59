import Core
import Foundation
import TestSupport
import Testing

/// Either tool restores the other's replicas (DESIGN.md §4): the real Litestream v0.3.13 binary
/// (installed by Scripts/test-tools) against the real `sluice` binary, with the same Python writer
/// in a separate process, compared row for row. These use Litestream's command-line form (a
/// replica URL, no config file) on a file replica; LitestreamBackendsTests covers every backend
/// through config files, LitestreamGenerationsTests several generations.
@Suite("Litestream v0.3.13 compatibility", .serialized)
struct LitestreamCompatibilityTests {
    /// A workload with small transactions, a large one that spills, and more small ones.
    func write(_ box: SluiceSandbox) throws {
        try box.writer("app.db", ["small", "--count", "30", "--batch", "a"])
        try box.writer("app.db", ["big", "--mb", "3"])
        try box.writer("app.db", ["small", "--count", "30", "--batch", "b"])
    }

    @Test("sluice restores a replica that Litestream v0.3.13 wrote (flat layout, random generation names)")
    func sluiceRestoresLitestream() async throws {
        try await blocking {
            let litestream = try Litestream.require()
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            let replicator = try BackgroundProcess(
                executable: litestream.binary,
                arguments: ["replicate", box.path("app.db"), box.url("replica")],
                logPath: box.path("litestream.log"))
            try #require(
                try box.waitForGenerations(box.url("replica")),
                "Litestream never wrote a snapshot:\n\(replicator.log)")
            try write(box)
            let source = try box.dump("app.db")
            try #require(
                try box.waitUntilRestorable(box.url("replica"), equals: source),
                "Litestream never caught up:\n\(replicator.log)")
            #expect(try replicator.terminate() == 0, "litestream log:\n\(replicator.log)")
            // Litestream's own layout: flat WAL segment names.
            let flat = try FileManager.default.subpathsOfDirectory(atPath: box.path("replica"))
                .filter { $0.hasSuffix(".wal.lz4") }
            try #require(!flat.isEmpty)
            #expect(
                flat.allSatisfy {
                    ReplicaLayout.parseLegacySegmentName(URL(fileURLWithPath: $0).lastPathComponent) != nil
                })

            let restore = try box.sluice([
                "restore", "--integrity-check", "-o", box.path("restored.db"),
                box.url("replica"),
            ])
            try #require(restore.status == 0, "sluice restore failed: \(restore.stderr)")
            #expect(try box.dump("restored.db") == source)
        }
    }

    @Test("Litestream v0.3.13 restores a replica that sluice wrote with --layout legacy")
    func litestreamRestoresSluice() async throws {
        try await blocking {
            let litestream = try Litestream.require()
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            let replicator = try box.startReplicate(
                "app.db", replicas: [box.url("replica")],
                extra: ["--layout", "legacy", "--min-checkpoint-page-count", "200"])
            try write(box)
            // The first segment of every index after the first leads with a seal (an LZ4
            // skippable frame) that Litestream's reader must skip.
            func segments() -> [String] {
                FileManager.default.enumerator(atPath: box.path("replica"))?.compactMap { $0 as? String } ?? []
            }
            let sealed = try box.writeUntil("app.db") {
                segments().contains {
                    $0.hasSuffix("_00000000.wal.lz4") && !$0.hasSuffix("/00000000_00000000.wal.lz4")
                }
            }
            #expect(try replicator.terminate() == 0, "replicate log:\n\(replicator.log)")
            try #require(sealed, "want a WAL index after the first: \(segments())")

            let restore = try BackgroundProcess(
                executable: litestream.binary,
                arguments: ["restore", "-o", box.path("restored.db"), box.url("replica")],
                logPath: box.path("litestream-restore.log"))
            try #require(
                waitForExit(restore.process, timeout: .seconds(120)),
                "litestream restore hung: \(restore.log)")
            try #require(restore.process.terminationStatus == 0, "litestream restore failed: \(restore.log)")
            #expect(try box.dump("restored.db") == (try box.dump("app.db")))
        }
    }
}
