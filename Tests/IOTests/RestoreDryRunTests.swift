import Foundation
import TestSupport
import Testing

/// `sluice restore --dry-run` with the real binary: it states the plan from the listing alone.
@Suite("sluice restore --dry-run", .serialized)
struct RestoreDryRunTests {
    /// Every object file of a file replica, with its size.
    func objects(_ root: String) throws -> [(path: String, size: Int)] {
        let enumerator = try #require(FileManager.default.enumerator(atPath: root))
        var found: [(String, Int)] = []
        while let relative = enumerator.nextObject() as? String {
            guard relative.hasSuffix(".lz4") else { continue }
            let path = root + "/" + relative
            found.append((path, (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1))
        }
        return found
    }

    @Test(
        "a replica whose every object is garbage still dry-runs, naming the plan and its bytes; the restore itself fails"
    )
    func nothingIsRead() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            let replicator = try box.startReplicate("app.db", replicas: [box.url("replica")])
            try box.writer("app.db", ["small", "--count", "30", "--delay", "0.02"])
            #expect(
                eventually { ((try? objects(box.path("replica"))) ?? []).count >= 3 },
                "replicate log:\n\(replicator.log)")
            #expect(try replicator.terminate() == 0)

            // Same names and sizes, unreadable content: any read of an object fails the command.
            let listed = try objects(box.path("replica"))
            for object in listed {
                try Data((0..<object.size).map { _ in UInt8.random(in: 0...255) })
                    .write(to: URL(fileURLWithPath: object.path))
            }
            let total = listed.reduce(0) { $0 + $1.size }
            let before = try box.entries()

            let text = try box.sluice(["restore", "--dry-run", "-o", box.path("out.db"), box.url("replica")])
            #expect(text.status == 0, "dry run failed: \(text.stderr)")
            for label in ["generation:", "snapshot:", "WAL indexes:", "download:    \(total) bytes compressed"] {
                #expect(text.stdout.contains(label), "no '\(label)' in:\n\(text.stdout)")
            }

            let json = try box.sluice(["restore", "--dry-run", "--json", "-o", box.path("out.db"), box.url("replica")])
            #expect(json.status == 0, "dry run failed: \(json.stderr)")
            let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8))
            let document = try #require(parsed as? [String: Any])
            #expect(document["dry_run"] as? Bool == true)
            #expect(document["download_bytes"] as? Int == total)
            #expect(document["output"] as? String == box.path("out.db"))
            let generation = try #require(document["generation"] as? String)
            #expect(text.stdout.contains(generation))
            let wal = try #require(document["wal"] as? [[String: Any]])
            #expect(wal.reduce(0) { $0 + ($1["segments"] as? Int ?? 0) } == listed.count - 1)
            #expect((document["target"] as? [String: Any])?["kind"] as? String == "latest")
            #expect(try box.entries() == before, "a dry run wrote something")

            let restore = try box.sluice(["restore", "-o", box.path("out.db"), box.url("replica")])
            #expect(restore.status != 0, "the garbage objects were restorable: the dry run proves nothing")
            let misuse = try box.sluice(["restore", "--json", "-o", box.path("out.db"), box.url("replica")])
            #expect(misuse.status != 0 && misuse.stderr.contains("--json requires --dry-run"), "\(misuse.stderr)")

            // Named pipes in place of the objects: opening any one of them blocks until the timeout.
            for object in listed {
                try FileManager.default.removeItem(atPath: object.path)
                #expect(mkfifo(object.path, 0o600) == 0)
            }
            let blind = try box.sluice(
                ["restore", "--dry-run", "-o", box.path("out.db"), box.url("replica")],
                timeout: .seconds(60))
            #expect(blind.status == 0, "the dry run opened an object: \(blind.stderr)")
        }
    }
}
