import Core
import Foundation
import TestSupport
import Testing

@testable import IO

/// Hostile keys only an object store can hold (`..`, empty and absolute components, stray
/// generation folders) and a corrupt object, on moto: verify names every one (exit 1), and a
/// restore, which reads only keys it derives from positions, is not led astray by them.
@Suite("Hostile replicas on S3 (moto): verify names every hostile key", .serialized)
struct HostileS3ReplicaTests {
    @Test("moto: '..', empty and absolute key components, stray names and a corrupt segment are each named")
    func hostileKeys() async throws {
        try await blocking {
            try await withMotoReplica(bucket: "sluice-hostile") { moto, replica in
                let box = try SluiceSandbox()
                defer { box.remove() }
                try box.writer("app.db", ["init"])
                let replicator = try box.startReplicate("app.db", replicas: [replica])
                try box.writer("app.db", ["small", "--count", "20"])
                #expect(try replicator.terminate() == 0, "replicate log:\n\(replicator.log)")
                #expect(try box.sluice(["verify", replica]).status == 0)

                let client = try moto.client(bucket: "sluice-hostile", prefix: "app")
                let generation = try #require(try await client.generations().first)
                let base = "generations/\(generation)"
                let hostile = [
                    "\(base)/wal/../../../etc/passwd", "\(base)//etc/passwd", "generations/../escape.lz4",
                    "\(base)/wal/0000000000000000/x.wal.lz4", "\(base)/snapshots/./0000000000000000.snapshot.lz4",
                ]
                try moto.putRawObjects(bucket: "sluice-hostile", keys: hostile.map { "app/" + $0 })

                let verify = try box.sluice(["verify", replica])
                #expect(verify.status == 1, "\(verify.stdout) \(verify.stderr)")
                let problems = verify.stdout.split(separator: "\n").filter { $0.hasPrefix("problem:") }
                for named in [
                    "\(base)/wal/../../../etc/passwd", "\(base)//etc/passwd", "generations/../",
                    "\(base)/wal/0000000000000000/x.wal.lz4", "\(base)/snapshots/./0000000000000000.snapshot.lz4",
                ] {
                    #expect(
                        problems.contains { $0.contains(": \(named): ") },
                        "no problem line names \(named):\n\(verify.stdout)")
                }
                #expect(problems.count == hostile.count, "\(verify.stdout)")

                // Restore derives every key it reads from a parsed position: the stray keys change nothing.
                try FileManager.default.createDirectory(atPath: box.path("out"), withIntermediateDirectories: false)
                let restore = try box.sluice(["restore", "-o", box.path("out/restored.db"), replica])
                #expect(restore.status == 0, "\(restore.stderr)")
                #expect(try box.writer("out/restored.db", ["dump"]) == (try box.writer("app.db", ["dump"])))
                #expect(try FileManager.default.contentsOfDirectory(atPath: box.path("out")) == ["restored.db"])

                // A corrupt segment is named as well, and restore refuses it in one line naming it.
                let segment = try #require(try await client.walSegments(in: generation).first)
                let key = ReplicaLayout.grouped.walSegmentKey(segment.position)
                _ = try await client.writeObject(
                    key, data: BytesSource(LZ4FrameEncoder.compress(Array("not a WAL".utf8))))
                let corrupt = try box.sluice(["verify", replica])
                #expect(corrupt.status == 1)
                #expect(
                    corrupt.stdout.split(separator: "\n").contains { $0.hasPrefix("problem:") && $0.contains(key) },
                    "\(corrupt.stdout)")
                let refused = try box.sluice(["restore", "-o", box.path("out/again.db"), replica])
                #expect(refused.status == 1)
                #expect(
                    refused.stderr.split(separator: "\n").count == 1 && refused.stderr.contains("\(segment.position)"),
                    "\(refused.stderr)")
                #expect(try FileManager.default.contentsOfDirectory(atPath: box.path("out")) == ["restored.db"])
            }
        }
    }
}
