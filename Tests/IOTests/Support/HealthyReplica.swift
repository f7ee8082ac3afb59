import Core
import Foundation
import Testing

/// A whole replica written by the real `sluice replicate` from the writer fixture, for the
/// hostile-replica corpus to copy and damage: one generation, at least three WAL indexes (the
/// replicator's own checkpoints past 200 pages), the first two with at least three and two
/// segments.
struct HealthyReplica {
    let box: SluiceSandbox
    /// The replica folder (sandbox name `replica`).
    let root: String
    let generation: String

    /// Replicates a workload until the replica has the shape above; the replicator is stopped
    /// with SIGTERM before this returns.
    static func make(in box: SluiceSandbox) throws -> HealthyReplica {
        try box.writer("app.db", ["init"])
        let replica = box.url("replica")
        let replicator = try box.startReplicate(
            "app.db", replicas: [replica], extra: ["--min-checkpoint-page-count", "200"])
        let folder = ReplicaFolder(root: box.path("replica"))
        func segments(_ index: UInt64) -> Int {
            folder.objects().filter { $0.kind == .segment && $0.index == index }.count
        }
        func indexes() -> Int { Set(folder.objects().filter { $0.kind == .segment }.map(\.index)).count }
        // Each batch lands in a segment of its own before the next starts.
        for (step, batch) in ["a", "b", "c"].enumerated() {
            try box.writer("app.db", ["small", "--count", "5", "--batch", batch])
            try #require(eventually { segments(0) > step }, "index 0 did not grow; log:\n\(replicator.log)")
        }
        // A big transaction makes the replicator checkpoint; the WAL restarts at the next write.
        try box.writer("app.db", ["big", "--mb", "2"])
        try box.writer("app.db", ["small", "--count", "5", "--batch", "d"])
        try #require(box.writeUntil("app.db") { indexes() >= 2 }, "no second index; log:\n\(replicator.log)")
        try box.writer("app.db", ["small", "--count", "5", "--batch", "e"])
        try #require(eventually { segments(1) >= 2 }, "index 1 did not grow; log:\n\(replicator.log)")
        try box.writer("app.db", ["big", "--mb", "2"])
        try box.writer("app.db", ["small", "--count", "5", "--batch", "f"])
        try #require(box.writeUntil("app.db") { indexes() >= 3 }, "no third index; log:\n\(replicator.log)")
        #expect(try replicator.terminate() == 0, "replicate log:\n\(replicator.log)")
        let generation = try #require(folder.generations().first)
        try #require(segments(0) >= 3 && segments(1) >= 2, "unexpected shape: \(folder.objects())")
        return HealthyReplica(box: box, root: box.path("replica"), generation: generation)
    }

    /// A copy of the replica under the sandbox, to damage.
    func copy(_ name: String) throws -> DamagedReplica {
        let target = box.path(name)
        try FileManager.default.copyItem(atPath: root, toPath: target)
        try? FileManager.default.removeItem(atPath: target + "/lease")
        return DamagedReplica(root: target, generation: generation)
    }
}

/// A copy of a healthy replica, and the damage done to it.
struct DamagedReplica {
    let root: String
    let generation: String

    var url: String { "file://" + root }
    var generationPath: String { root + "/generations/" + generation }

    static func hex(_ value: UInt64) -> String { Hex.format(value, width: 16) }

    func indexPath(_ index: UInt64) -> String { generationPath + "/wal/" + Self.hex(index) }
    var snapshotPath: String { generationPath + "/snapshots/" + Self.hex(0) + ".snapshot.lz4" }

    /// The offsets of an index's segments, ascending.
    func offsets(_ index: UInt64) -> [UInt64] {
        ((try? FileManager.default.contentsOfDirectory(atPath: indexPath(index))) ?? [])
            .compactMap { UInt64($0.prefix(16), radix: 16) }.sorted()
    }

    func segmentPath(_ index: UInt64, _ offset: UInt64) -> String {
        indexPath(index) + "/" + Self.hex(offset) + ".wal.lz4"
    }

    func read(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Rewrites a segment's WAL bytes (it must carry no seal: not an index's first segment).
    func rewriteWAL(_ index: UInt64, _ offset: UInt64, _ change: (inout [UInt8]) -> Void) throws {
        precondition(offset != 0, "first segments carry a seal this does not keep")
        var wal = try LZ4FrameDecoder.decompress(read(segmentPath(index, offset)))
        change(&wal)
        try write(LZ4FrameEncoder.compress(wal), to: segmentPath(index, offset))
    }

    /// Every file under the replica with its size and modification time, to prove nothing wrote.
    func fingerprint() -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: root)
        var lines: [String] = []
        while let name = enumerator?.nextObject() as? String {
            let attributes = (try? FileManager.default.attributesOfItem(atPath: root + "/" + name)) ?? [:]
            lines.append("\(name) \(attributes[.size] ?? "-") \(attributes[.modificationDate] ?? "-")")
        }
        return lines.sorted()
    }
}
