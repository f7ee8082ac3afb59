import Core
import Foundation
import TestSupport
import Testing

/// The hostile and damaged replica corpus: a healthy replica written by the real binary is
/// copied and damaged one way per case, and both `sluice restore` and `sluice verify` run on
/// each copy. Every case must give restore a one-line error naming the object (or, for a stray
/// name beside whole data, a correct restore that ignores it) and verify exit 1 with a problem
/// line naming it; neither may crash, hang, write into the replica, or leave a file behind.
@Suite("Hostile replicas: restore and verify on every damage", .serialized)
struct HostileReplicaCorpusTests {
    /// One way to damage a replica, and the text both commands must name.
    struct Damage: Sendable {
        var name: String
        /// Damages the copy; returns the text verify's problem line must contain.
        var apply: @Sendable (DamagedReplica) throws -> String
        /// The text restore's error must contain, given the copy and verify's text; nil when
        /// restore must succeed.
        var restoreNames: (@Sendable (DamagedReplica, String) -> String)?
    }

    /// Runs every case of `corpus` on copies of one healthy replica.
    @Test("file: every damage gives restore a one-line error naming the object and verify exit 1 naming it")
    func fileCorpus() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            let healthy = try HealthyReplica.make(in: box)
            let whole = try box.sluice(["verify", healthy.box.url("replica")])
            #expect(whole.status == 0, "the healthy replica must verify: \(whole.stdout) \(whole.stderr)")
            for (number, damage) in Self.corpus.enumerated() {
                let copy = try healthy.copy("case-\(number)")
                let token = try damage.apply(copy)
                try check(damage, copy: copy, token: token, box: box)
                try FileManager.default.removeItem(atPath: copy.root)
            }
            #expect(try box.entries().filter { $0.hasPrefix("case-") || $0 == "out" }.isEmpty)
        }
    }

    private func check(_ damage: Damage, copy: DamagedReplica, token: String, box: SluiceSandbox) throws {
        let before = copy.fingerprint()
        // Both commands get a TMPDIR of their own: what they leave in it is this case's alone,
        // whatever other suites do in the shared temp directory meanwhile.
        let scratch = box.path("tmp")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: false)

        let verify = try box.sluice(["verify", copy.url], timeout: .seconds(60), environment: ["TMPDIR": scratch])
        #expect(verify.status == 1, "\(damage.name): verify exit \(verify.status): \(verify.stdout) \(verify.stderr)")
        let problems = verify.stdout.split(separator: "\n").filter { $0.hasPrefix("problem:") }
        #expect(
            problems.contains { $0.contains(token) },
            "\(damage.name): no problem line names \(token):\n\(verify.stdout)")
        #expect(!verify.stderr.contains("Fatal error"), "\(damage.name): \(verify.stderr)")

        try FileManager.default.createDirectory(atPath: box.path("out"), withIntermediateDirectories: false)
        let restore = try box.sluice(
            ["restore", "-o", box.path("out/restored.db"), copy.url], timeout: .seconds(60),
            environment: ["TMPDIR": scratch])
        if let names = damage.restoreNames?(copy, token) {
            #expect(restore.status == 1, "\(damage.name): restore exit \(restore.status): \(restore.stderr)")
            let lines = restore.stderr.split(separator: "\n")
            #expect(
                lines.count == 1 && lines[0].hasPrefix("error: "), "\(damage.name): not one line: \(restore.stderr)")
            #expect(
                restore.stderr.contains(names), "\(damage.name): the error does not name \(names): \(restore.stderr)")
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: box.path("out")).isEmpty,
                "\(damage.name): restore left files behind")
        } else {
            #expect(restore.status == 0, "\(damage.name): restore failed: \(restore.stderr)")
            #expect(try box.writer("out/restored.db", ["dump"]) == (try box.writer("app.db", ["dump"])))
        }
        try FileManager.default.removeItem(atPath: box.path("out"))
        #expect(copy.fingerprint() == before, "\(damage.name): the replica changed")
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch)
        #expect(left.isEmpty, "\(damage.name): left in TMPDIR: \(left)")
        try FileManager.default.removeItem(atPath: scratch)
    }

    // MARK: - The corpus

    static let corpus: [Damage] = [
        Damage(
            name: "a segment renamed to a name that does not parse",
            apply: { replica in
                let offset = replica.offsets(1).last!
                let stray = replica.indexPath(1) + "/zz\(DamagedReplica.hex(offset)).wal.lz4"
                try FileManager.default.moveItem(atPath: replica.segmentPath(1, offset), toPath: stray)
                return "zz\(DamagedReplica.hex(offset)).wal.lz4"
            }, restoreNames: { _, token in "ends at offset \(token.dropFirst(2).prefix(16))" }),
        Damage(
            name: "a stray name beside whole data",
            apply: { replica in
                try replica.write(Array("notes".utf8), to: replica.indexPath(1) + "/README")
                return "wal/0000000000000001/README"
            }, restoreNames: nil),
        Damage(
            name: "a segment replaced by a symlink out of the replica",
            apply: { replica in
                let offset = replica.offsets(0)[1]
                try FileManager.default.removeItem(atPath: replica.segmentPath(0, offset))
                try FileManager.default.createSymbolicLink(
                    atPath: replica.segmentPath(0, offset), withDestinationPath: "/etc/hostname")
                return DamagedReplica.hex(offset)
            }, restoreNames: { _, token in token }),
        Damage(
            name: "an index missing in the middle",
            apply: { replica in
                try FileManager.default.removeItem(atPath: replica.indexPath(1))
                return "wal/0000000000000001/"
            }, restoreNames: { _, _ in "missing WAL index 0000000000000001" }),
        Damage(
            name: "a segment lost from the middle of an index (a gap)",
            apply: { replica in
                let offsets = replica.offsets(0)
                try FileManager.default.removeItem(atPath: replica.segmentPath(0, offsets[1]))
                return DamagedReplica.hex(offsets[2])
            }, restoreNames: { _, token in "found \(token)" }),
        Damage(
            name: "a segment that overlaps the previous one",
            apply: { replica in
                let offsets = replica.offsets(0)
                let moved = offsets[2] - 16
                try FileManager.default.moveItem(
                    atPath: replica.segmentPath(0, offsets[2]), toPath: replica.segmentPath(0, moved))
                return DamagedReplica.hex(moved)
            }, restoreNames: { _, token in "overlapping segments: the segment at offset \(token)" }),
        Damage(
            name: "truncated LZ4",
            apply: { replica in
                let offset = replica.offsets(0)[1]
                let bytes = try replica.read(replica.segmentPath(0, offset))
                try replica.write(Array(bytes.prefix(bytes.count / 2)), to: replica.segmentPath(0, offset))
                return DamagedReplica.hex(offset)
            }, restoreNames: { _, token in token }),
        Damage(
            name: "corrupted LZ4",
            apply: { replica in
                let offset = replica.offsets(0)[1]
                var bytes = try replica.read(replica.segmentPath(0, offset))
                for position in stride(from: bytes.count / 3, to: bytes.count / 3 + 64, by: 1) {
                    bytes[position] ^= 0x5A
                }
                try replica.write(bytes, to: replica.segmentPath(0, offset))
                return DamagedReplica.hex(offset)
            }, restoreNames: { _, token in token }),
        Damage(
            name: "a segment whose frames fail their checksums",
            apply: { replica in
                let offset = replica.offsets(0)[1]
                try replica.rewriteWAL(0, offset) { $0[24 + 100] ^= 0x01 }
                return DamagedReplica.hex(offset)
            },
            restoreNames: { replica, token in
                "fails its checksum in WAL segment \(replica.generation)/0000000000000000:\(token)"
            }),
        Damage(
            name: "salts that change mid-index",
            apply: { replica in
                let offset = replica.offsets(0)[1]
                try replica.rewriteWAL(0, offset) { $0[8] ^= 0x01 }
                return DamagedReplica.hex(offset)
            },
            restoreNames: { replica, token in
                "salts that differ from the WAL header's in WAL segment \(replica.generation)/0000000000000000:\(token)"
            }),
        Damage(
            name: "a snapshot that is not SQLite",
            apply: { replica in
                try replica.write(
                    LZ4FrameEncoder.compress([UInt8](repeating: 0x42, count: 65536)), to: replica.snapshotPath)
                return "snapshots/0000000000000000.snapshot.lz4: not an SQLite database"
            }, restoreNames: { _, _ in "snapshot 0000000000000000 of generation" }),
        Damage(
            name: "a zero-byte segment",
            apply: { replica in
                let offset = replica.offsets(0)[1]
                try replica.write([], to: replica.segmentPath(0, offset))
                return DamagedReplica.hex(offset)
            }, restoreNames: { _, token in token }),
        Damage(
            name: "a zero-byte snapshot",
            apply: { replica in
                try replica.write([], to: replica.snapshotPath)
                return "snapshots/0000000000000000.snapshot.lz4"
            }, restoreNames: { _, _ in "snapshot 0000000000000000 of generation" }),
        Damage(
            name: "an LZ4 block claiming 2 GB",
            apply: { replica in
                let offset = replica.offsets(0)[1]
                var bytes = try replica.read(replica.segmentPath(0, offset))
                bytes.replaceSubrange(7..<11, with: [0xFF, 0xFF, 0xFF, 0x7F])
                try replica.write(bytes, to: replica.segmentPath(0, offset))
                return DamagedReplica.hex(offset)
            }, restoreNames: { _, token in token }),
        Damage(
            name: "an LZ4 frame whose header claims 2 GB of content",
            apply: { replica in
                let offset = replica.offsets(0)[1]
                let wal = try LZ4FrameDecoder.decompress(replica.read(replica.segmentPath(0, offset)))
                try replica.write(
                    CorpusFrames.claimingContentSize(1 << 31, of: wal), to: replica.segmentPath(0, offset))
                return DamagedReplica.hex(offset)
            }, restoreNames: { _, token in token }),
        Damage(
            name: "a skippable frame claiming 2 GB before the LZ4 frame",
            apply: { replica in
                let offset = replica.offsets(0)[1]
                let bytes = try replica.read(replica.segmentPath(0, offset))
                try replica.write(
                    [0x50, 0x2A, 0x4D, 0x18, 0x00, 0x00, 0x00, 0x80] + bytes, to: replica.segmentPath(0, offset))
                return DamagedReplica.hex(offset)
            }, restoreNames: { _, token in token }),
    ]
}

/// Hand-made LZ4 frames for the corpus.
enum CorpusFrames {
    /// A valid LZ4 frame of `content` whose header claims `claimed` bytes of content
    /// (FLG content-size bit, the 8-byte size, a header checksum that matches the claim).
    static func claimingContentSize(_ claimed: UInt64, of content: [UInt8]) -> [UInt8] {
        let frame = LZ4FrameEncoder.compress(content)
        // Ours: magic, FLG, BD, HC, then blocks. Insert the size after BD and redo HC.
        var descriptor = [frame[4] | 0x08, frame[5]]
        for shift in stride(from: 0, to: 64, by: 8) {
            descriptor.append(UInt8(truncatingIfNeeded: claimed >> UInt64(shift)))
        }
        let checksum = UInt8(truncatingIfNeeded: XXH32.hash(descriptor[...]) >> 8)
        return Array(frame[0..<4]) + descriptor + [checksum] + Array(frame[7...])
    }
}
