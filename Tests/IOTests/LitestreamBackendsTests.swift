import Core
import Foundation
import TestSupport
import Testing

/// Litestream v0.3.13 and Sluice exchange replicas on a folder, S3 (moto) and SFTP (OpenSSH on loopback),
/// both ways, each replicating while a writer commits, each restore compared row for row with
/// the source. Both tools run from one config file, as Litestream's users write it (`endpoint`,
/// `region`, `force-path-style` and keys for S3; `url` and `key-path` for SFTP) plus Sluice's
/// `layout: legacy` and SFTP host-key pin, which Litestream ignores.
@Suite("Litestream v0.3.13 compatibility on every backend", .serialized)
struct LitestreamBackendsTests {
    static let backends: [InteropBackend.Kind] = [.file, .s3, .sftp]

    @Test("sluice restores what Litestream v0.3.13 replicated while a writer committed", arguments: backends)
    func sluiceRestoresLitestream(kind: InteropBackend.Kind) async throws {
        try await withInterop(kind) { litestream, box, backend in
            let config = try litestream.config(box, database: "app.db", replica: backend)
            let replicator = try litestream.startReplicate(box, config: config)
            try #require(
                try box.waitForGenerations(backend.url),
                "Litestream never wrote a snapshot:\n\(replicator.log)")
            try box.liveWorkload("app.db")
            let source = try box.dump("app.db")
            try #require(
                try box.waitUntilRestorable(backend.url, equals: source),
                "Litestream never caught up:\n\(replicator.log)")
            #expect(try replicator.terminate() == 0, "litestream log:\n\(replicator.log)")

            // Litestream v0.3.13's own layout on this backend: flat WAL names, several indexes.
            let (segments, parsed) = try await backend.flatWALSegments()
            #expect(!segments.isEmpty && parsed.count == segments.count, "keys: \(segments)")
            #expect(Set(parsed.map(\.index)).count >= 2, "want several WAL indexes: \(segments)")
            try await backend.expectListingMatchesKeys(box)

            let restore = try box.sluice([
                "restore", "--integrity-check", "-config", config,
                "-o", box.path("restored.db"), box.path("app.db"),
            ])
            try #require(restore.status == 0, "sluice restore failed: \(restore.stderr)")
            #expect(try box.dump("restored.db") == source)
            #expect(try box.dump("app.db") == source)
        }
    }

    @Test(
        "Litestream v0.3.13 restores what sluice replicated with layout: legacy while a writer committed",
        arguments: backends)
    func litestreamRestoresSluice(kind: InteropBackend.Kind) async throws {
        try await withInterop(kind) { litestream, box, backend in
            let config = try litestream.config(box, database: "app.db", replica: backend)
            let replicator = try BackgroundProcess(
                executable: SluiceSandbox.binary,
                arguments: ["replicate", "-config", config],
                logPath: box.path("replicate.log"))
            try #require(try box.waitForGenerations(backend.url), "sluice never wrote a snapshot:\n\(replicator.log)")
            try box.liveWorkload("app.db")
            #expect(try replicator.terminate() == 0, "replicate log:\n\(replicator.log)")

            let restore = try litestream.restore(box, config: config, database: "app.db", output: "restored.db")
            try #require(restore.status == 0, "litestream restore failed: \(restore.log)")
            #expect(try box.dump("restored.db") == (try box.dump("app.db")))

            // Flat names only, and an index after the first, whose first segment leads with the
            // seal (an LZ4 skippable frame) that Litestream's reader had to skip.
            let (segments, parsed) = try await backend.flatWALSegments()
            #expect(!segments.isEmpty && parsed.count == segments.count, "keys: \(segments)")
            #expect(parsed.contains { $0.index > 0 && $0.offset == 0 }, "want a WAL index after the first: \(segments)")
            try await backend.expectListingMatchesKeys(box)
        }
    }
}
