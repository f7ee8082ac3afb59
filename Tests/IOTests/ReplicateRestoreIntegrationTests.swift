import Core
import Foundation
import TestSupport
import Testing

/// End-to-end: the real `sluice` binary replicates a database that a separate Python process is
/// writing, gets stopped by SIGTERM, and its replica is restored and compared row for row (each row
/// stores the sha256 of its data, and the dump recomputes it from the restored bytes).
///
/// Slow (processes, a 65 MB transaction), so serialized. Intervals are 100 ms to keep it short;
/// waits poll a condition with a bound rather than sleeping a fixed time, except where a test
/// needs wall-clock time to pass between uploads.
@Suite("sluice: replicate and restore, end to end", .serialized)
struct ReplicateRestoreIntegrationTests {
    @Test("replicate: small and 65 MB transactions with the app's own TRUNCATE checkpoint restore exactly")
    func replicateBusyDatabaseRestoresExactly() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])

            let replicator = try box.startReplicate("app.db", replicas: [box.url("replica")])
            try box.writer("app.db", ["small", "--count", "30", "--delay", "0.01", "--batch", "before"])
            try box.writer("app.db", ["big", "--mb", "65"])
            // The app checkpoints on its own mid-run; sluice must cope (its read lock may make it busy).
            try box.writer(
                "app.db",
                [
                    "small", "--count", "30", "--delay", "0.01", "--batch", "after",
                    "--checkpoint-after", "10",
                ])
            #expect(try replicator.terminate() == 0, "replicate log:\n\(replicator.log)")

            let restore = try box.sluice([
                "restore", "--integrity-check", "-o", box.path("restored.db"), box.url("replica"),
            ])
            try #require(restore.status == 0, "restore failed: \(restore.stderr)")
            #expect(try box.writer("restored.db", ["integrity"]).trimmed == "ok")
            let source = try dump(box, "app.db")
            #expect(source.count > 60 + 200)
            #expect(try dump(box, "restored.db") == source)

            // Restoring each index of the latest generation gives a commit-boundary prefix of the
            // source, growing with the index, and the last index gives the whole database.
            let generation = try #require(try generations(box, box.url("replica")).last)
            let indexes = Array(
                Set(try walSegments(box, box.url("replica")).filter { $0.generation == generation }.map(\.index))
            ).sorted()
            try #require(!indexes.isEmpty)
            var previousCount = 0
            for index in indexes.suffix(4) {
                let name = "index-\(index).db"
                let outcome = try box.sluice([
                    "restore", "--generation", generation, "--index", String(index),
                    "-o", box.path(name), box.url("replica"),
                ])
                try #require(outcome.status == 0, "restore --index \(index) failed: \(outcome.stderr)")
                let rows = try dump(box, name)
                #expect(Array(source.prefix(rows.count)) == rows, "index \(index) is not a prefix of the source")
                #expect(rows.count >= previousCount)
                previousCount = rows.count
            }
            #expect(previousCount == source.count)
        }
    }

    @Test("replicate: a restarted replicator continues the same generation")
    func restartContinuesGeneration() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])

            let first = try box.startReplicate("app.db", replicas: [box.url("replica")])
            try box.writer("app.db", ["small", "--count", "20", "--batch", "first"])
            #expect(try first.terminate() == 0, "replicate log:\n\(first.log)")
            let generationsBefore = try generations(box, box.url("replica"))
            #expect(generationsBefore.count == 1)

            let second = try box.startReplicate("app.db", replicas: [box.url("replica")])
            try box.writer("app.db", ["small", "--count", "20", "--batch", "second"])
            #expect(try second.terminate() == 0, "replicate log:\n\(second.log)")

            #expect(try generations(box, box.url("replica")) == generationsBefore)
            // Restore through the database path: its replicas were recorded by replicate.
            let restore = try box.sluice(["restore", "-o", box.path("restored.db"), box.path("app.db")])
            try #require(restore.status == 0, "restore failed: \(restore.stderr)")
            let restored = try dump(box, "restored.db")
            #expect(restored.count == 40)
            #expect(restored == (try dump(box, "app.db")))
        }
    }

    @Test("replicate: a checkpoint while sluice is stopped starts a new generation with a snapshot")
    func checkpointDuringDowntimeStartsNewGeneration() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])

            let first = try box.startReplicate("app.db", replicas: [box.url("replica")])
            try box.writer("app.db", ["small", "--count", "20", "--batch", "first"])
            #expect(try first.terminate() == 0, "replicate log:\n\(first.log)")

            // While nothing watches, the app writes more and truncates the WAL into the database.
            try box.writer("app.db", ["small", "--count", "5", "--batch", "downtime"])
            #expect(try box.writer("app.db", ["checkpoint"]).hasPrefix("0,"))

            let second = try box.startReplicate("app.db", replicas: [box.url("replica")])
            try box.writer("app.db", ["small", "--count", "5", "--batch", "second"])
            #expect(try second.terminate() == 0, "replicate log:\n\(second.log)")

            let names = try generations(box, box.url("replica"))
            #expect(names.count == 2)
            let newest = try #require(names.last)
            let snapshots = try box.sluice(["snapshots", "--generation", newest, box.url("replica")])
            try #require(snapshots.status == 0, "snapshots failed: \(snapshots.stderr)")
            #expect(tableRows(snapshots.stdout).contains { $0.count >= 3 && $0[1] == newest })

            let restore = try box.sluice([
                "restore", "--integrity-check", "-o", box.path("restored.db"), box.url("replica"),
            ])
            try #require(restore.status == 0, "restore failed: \(restore.stderr)")
            #expect(try dump(box, "restored.db") == (try dump(box, "app.db")))
        }
    }

    @Test("restore: --timestamp and --generation/--index/--offset land on the right states")
    func pointInTimeRestore() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            // A low checkpoint threshold makes the WAL restart during batch one, so batch two begins
            // in a later index than the generation's first snapshot: exact positions inside the
            // snapshot's own index are refused by design.
            let replicator = try box.startReplicate(
                "app.db", replicas: [box.url("replica")],
                extra: ["--min-checkpoint-page-count", "10"])
            defer { _ = try? replicator.terminate() }

            try box.writer("app.db", ["small", "--count", "20", "--batch", "one"])
            #expect(try eventually { try probeRowCount(box) == 20 }, "batch one never became restorable")
            // Upload times must separate: everything of batch one is uploaded before `between`, and
            // nothing of batch two is written until well after it.
            let between = RFC3339.format(Timestamp(millisecondsSince1970: Int64(Date().timeIntervalSince1970 * 1000)))
            try await Task.sleep(for: .milliseconds(1200))
            let segmentsBefore = Set(try walSegments(box, box.url("replica")))
            try box.writer("app.db", ["small", "--count", "20", "--batch", "two"])
            #expect(try eventually { try probeRowCount(box) == 40 }, "batch two never became restorable")
            #expect(try replicator.terminate() == 0, "replicate log:\n\(replicator.log)")

            let source = try dump(box, "app.db")
            try #require(source.count == 40)
            let batchOne = Array(source.prefix(20))

            let byTime = try box.sluice([
                "restore", "--timestamp", between, "-o", box.path("by-time.db"), box.url("replica"),
            ])
            try #require(byTime.status == 0, "restore --timestamp failed: \(byTime.stderr)")
            #expect(try dump(box, "by-time.db") == batchOne)

            // The first segment uploaded after batch one starts at batch two's first transaction.
            let segmentsAfter = try walSegments(box, box.url("replica"))
            let firstNew = try #require(
                segmentsAfter.filter { !segmentsBefore.contains($0) }.min {
                    ($0.index, $0.offset) < ($1.index, $1.offset)
                })
            #expect(firstNew.index > 0, "batch two should begin after at least one WAL restart")
            let byOffset = try box.sluice([
                "restore", "--generation", firstNew.generation, "--index", String(firstNew.index),
                "--offset", String(firstNew.offset), "-o", box.path("by-offset.db"), box.url("replica"),
            ])
            try #require(byOffset.status == 0, "restore --offset failed: \(byOffset.stderr)")
            #expect(try dump(box, "by-offset.db") == batchOne)

            let lastIndex = try #require(
                segmentsAfter.filter { $0.generation == firstNew.generation }.map(\.index).max())
            let byIndex = try box.sluice([
                "restore", "--generation", firstNew.generation, "--index", String(lastIndex),
                "-o", box.path("by-index.db"), box.url("replica"),
            ])
            try #require(byIndex.status == 0, "restore --index failed: \(byIndex.stderr)")
            #expect(try dump(box, "by-index.db") == source)
        }
    }

    @Test("bad input: one-line error, non-zero exit, nothing written")
    func badInput() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }

            // A real replica, with a copy whose largest WAL segment has bytes flipped.
            try box.writer("app.db", ["init"])
            let replicator = try box.startReplicate("app.db", replicas: [box.url("replica")])
            try box.writer("app.db", ["small", "--count", "5", "--batch", "start"])
            try box.writer("app.db", ["big", "--mb", "2"])
            #expect(try replicator.terminate() == 0, "replicate log:\n\(replicator.log)")
            try "not a database\n".write(toFile: box.path("notes.txt"), atomically: true, encoding: .utf8)
            try "keep me".write(toFile: box.path("existing.db"), atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(
                atPath: box.path("empty-replica"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: box.path("replica"), toPath: box.path("corrupt-replica"))
            let victim = try #require(try walSegments(box, box.url("replica")).max { $0.size < $1.size })
            try corrupt(box.path("corrupt-replica/" + ReplicaLayout.grouped.walSegmentKey(victim.position)))

            let cases: [(String, [String])] = [
                ("missing database", ["replicate", box.path("missing.db"), box.url("new-replica")]),
                ("not a database", ["replicate", box.path("notes.txt"), box.url("new-replica")]),
                ("unknown scheme (replicate)", ["replicate", box.path("app.db"), "foo://x"]),
                ("unknown scheme (restore)", ["restore", "-o", box.path("out.db"), "foo://x"]),
                ("nonexistent replica", ["restore", "-o", box.path("out.db"), box.url("nowhere")]),
                ("empty replica", ["restore", "-o", box.path("out.db"), box.url("empty-replica")]),
                ("output exists", ["restore", "-o", box.path("existing.db"), box.url("replica")]),
                ("corrupt lz4 segment", ["restore", "-o", box.path("out.db"), box.url("corrupt-replica")]),
                (
                    "--index without --generation",
                    ["restore", "--index", "1", "-o", box.path("out.db"), box.url("replica")]
                ),
            ]
            let replicaBefore = try tree(box.path("replica"))
            for (name, arguments) in cases {
                try expectCleanFailure(box, name, arguments)
            }
            #expect(try String(contentsOfFile: box.path("existing.db"), encoding: .utf8) == "keep me")
            #expect(try String(contentsOfFile: box.path("notes.txt"), encoding: .utf8) == "not a database\n")
            #expect(try tree(box.path("replica")) == replicaBefore)
        }
    }
}

extension ReplicateRestoreIntegrationTests {
    @Test("bad input: a replica missing a WAL index fails restore with one line, writing nothing")
    func missingWALIndex() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }

            // Three WAL indexes: past 1000 pages sluice checkpoints, and the first write after a
            // complete checkpoint restarts the WAL, which starts the next index.
            try box.writer("app.db", ["init"])
            let replicator = try box.startReplicate("app.db", replicas: [box.url("replica")])
            try box.writer("app.db", ["small", "--count", "5", "--batch", "start"])
            var indexCount = 1
            for round in 1...2 {
                try box.writer("app.db", ["big", "--mb", "6"])
                let restarted = try box.writeUntil("app.db", batch: "poke\(round)") {
                    indexCount = Set(try walSegments(box, box.url("replica")).map(\.index)).count
                    return indexCount > round
                }
                try #require(restarted, "sluice never checkpointed into WAL index \(round)")
            }
            #expect(try replicator.terminate() == 0, "replicate log:\n\(replicator.log)")
            guard indexCount >= 3 else { return }

            let segments = try walSegments(box, box.url("replica"))
            let generation = try #require(segments.last?.generation)
            let indexes = Array(Set(segments.filter { $0.generation == generation }.map(\.index))).sorted()
            try FileManager.default.copyItem(atPath: box.path("replica"), toPath: box.path("gap-replica"))
            try FileManager.default.removeItem(
                atPath: box.path(
                    "gap-replica/"
                        + ReplicaLayout.walIndexDirectory(try #require(Generation(generation)), index: indexes[1])))
            try expectCleanFailure(
                box, "missing WAL index", ["restore", "-o", box.path("out.db"), box.url("gap-replica")])
        }
    }
}

// MARK: Helpers

/// Runs sluice expecting a failure: non-zero exit, exactly one `error: ` line on stderr (a message,
/// not a Swift dump of an error value), and no file created or removed in the sandbox.
private func expectCleanFailure(
    _ box: SluiceSandbox, _ name: String, _ arguments: [String],
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let entriesBefore = try box.entries()
    let outcome = try box.sluice(arguments)
    let lines = outcome.stderr.split(separator: "\n")
    #expect(outcome.status != 0, "\(name): exit status 0", sourceLocation: sourceLocation)
    #expect(
        lines.count == 1 && lines.first?.hasPrefix("error: ") == true,
        "\(name): stderr is not one error line: \(outcome.stderr)", sourceLocation: sourceLocation)
    #expect(
        !outcome.stderr.contains("Error("), "\(name): message is a Swift dump: \(outcome.stderr)",
        sourceLocation: sourceLocation)
    let entriesAfter = try box.entries()
    #expect(
        entriesAfter == entriesBefore, "\(name): files appeared or vanished: \(entriesAfter)",
        sourceLocation: sourceLocation)
}

/// Flips 64 bytes a third of the way into a file.
private func corrupt(_ path: String) throws {
    var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    try #require(bytes.count > 100)
    for i in (bytes.count / 3)..<(bytes.count / 3 + 64) { bytes[i] ^= 0x5A }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// The writer's dump: one `id|batch|length|stored sha256|actual sha256` line per row.
func dump(_ box: SluiceSandbox, _ database: String) throws -> [String] {
    try box.writer(database, ["dump"]).split(separator: "\n").map(String.init)
}

/// Restores the replica's latest state to a scratch file and counts its rows (nil if restore fails).
private func probeRowCount(_ box: SluiceSandbox) throws -> Int? {
    let name = "probe-\(UInt32.random(in: 0...UInt32.max)).db"
    defer { try? FileManager.default.removeItem(atPath: box.path(name)) }
    let outcome = try box.sluice(["restore", "-o", box.path(name), box.url("replica")])
    guard outcome.status == 0 else { return nil }
    return Int(try box.writer(name, ["count"]).trimmed)
}

/// The rows of a listing table, header dropped, each split on whitespace.
func tableRows(_ text: String) -> [[String]] {
    text.split(separator: "\n").dropFirst().map {
        $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
    }
}

/// Generation names `sluice generations` lists, in order.
func generations(_ box: SluiceSandbox, _ replica: String) throws -> [String] {
    let outcome = try box.sluice(["generations", replica])
    try #require(outcome.status == 0, "generations failed: \(outcome.stderr)")
    return tableRows(outcome.stdout).map { $0[1] }
}

/// One row of `sluice wal`.
private struct SegmentRow: Hashable {
    var generation: String
    var index: UInt64
    var offset: UInt64
    var size: Int64

    var position: Position {
        Position(generation: Generation(generation)!, index: index, offset: offset)
    }
}

private func walSegments(_ box: SluiceSandbox, _ replica: String) throws -> [SegmentRow] {
    let outcome = try box.sluice(["wal", replica])
    try #require(outcome.status == 0, "wal failed: \(outcome.stderr)")
    return try tableRows(outcome.stdout).map { row in
        try #require(row.count == 6, "unexpected wal row \(row)")
        return SegmentRow(
            generation: row[1], index: try #require(UInt64(row[2])),
            offset: try #require(UInt64(row[3])), size: try #require(Int64(row[4])))
    }
}

/// Every file under `root` with its size, for proving a replica was left untouched.
private func tree(_ root: String) throws -> [String] {
    let enumerator = try #require(FileManager.default.enumerator(atPath: root))
    var entries: [String] = []
    while let relative = enumerator.nextObject() as? String {
        let attributes = try FileManager.default.attributesOfItem(atPath: root + "/" + relative)
        entries.append("\(relative) \(attributes[.size] ?? 0)")
    }
    return entries.sorted()
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
