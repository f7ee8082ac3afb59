import Core
import Foundation
import TestSupport
import Testing

/// A Litestream v0.3.13 replica with several generations, each started the ways Litestream's own
/// documentation names (its local shadow state removed; the WAL checkpointed away while it was
/// stopped), and Sluice's timestamp restores between them. A file replica, whose times carry
/// milliseconds (S3 and SFTP report whole seconds).
@Suite("Litestream v0.3.13: several generations and sluice's timestamp restores", .serialized)
struct LitestreamGenerationsTests {
    /// What one run of Litestream left: the source's rows when it stopped, and the newest upload
    /// time on the replica then, with the generations that existed.
    struct Run {
        var rows: [String]
        var end: String
        var generations: Set<String>
    }

    @Test("a timestamp between two generations restores exactly the state the earlier one ended with")
    func timestampRestoresBetweenGenerations() async throws {
        try await withInterop(.file) { litestream, box, backend in
            let config = try litestream.config(box, database: "app.db", replica: backend)

            var runs: [Run] = []
            for run in 0..<3 {
                if run == 1 {
                    // No local state: "no generation exists".
                    try FileManager.default.removeItem(atPath: box.path(".app.db-litestream"))
                } else if run == 2 {
                    // The WAL truncated while Litestream was stopped: its header no longer matches.
                    try box.writer("app.db", ["checkpoint"])
                }
                let replicator = try litestream.startReplicate(box, config: config)
                try #require(
                    try box.waitForGenerations(backend.url, atLeast: run + 1),
                    "Litestream started no new generation:\n\(replicator.log)")
                try box.writer("app.db", ["small", "--count", "20", "--batch", "run\(run)"])
                if run == 1 { try box.writer("app.db", ["big", "--mb", "1", "--batch", "run1-big"]) }
                let source = try box.dump("app.db")
                try #require(
                    try box.waitUntilRestorable(backend.url, equals: source),
                    "Litestream never caught up:\n\(replicator.log)")
                #expect(try replicator.terminate() == 0, "litestream log:\n\(replicator.log)")
                let rows = try ListingJSON.rows(box.sluice(["generations", "--json", backend.url]), key: "generations")
                let end = try #require(rows.compactMap { $0["end"] as? String }.max { time($0) < time($1) })
                runs.append(
                    Run(
                        rows: source, end: end,
                        generations: Set(rows.compactMap { $0["generation"] as? String })))
            }
            try #require(runs[2].generations.count >= 3, "generations: \(runs[2].generations)")
            let final = try ListingJSON.rows(box.sluice(["generations", "--json", backend.url]), key: "generations")

            for (index, run) in runs.enumerated() {
                if index + 1 < runs.count {
                    // Every generation started later began after this run's last upload.
                    let later = final.filter { !run.generations.contains($0["generation"] as? String ?? "") }
                    try #require(!later.isEmpty)
                    try #require(
                        later.allSatisfy { time($0["start"]) > time(run.end) },
                        "run \(index) ended \(run.end): \(later)")
                }
                let restore = try box.sluice([
                    "restore", "--integrity-check", "--timestamp", run.end,
                    "-o", box.path("at-\(index).db"), backend.url,
                ])
                try #require(restore.status == 0, "restore at \(run.end) failed: \(restore.stderr)")
                #expect(try box.dump("at-\(index).db") == run.rows, "restore at the end of run \(index), \(run.end)")
            }
            // Halfway between the first run's end and the second generation's start: still the first run's state.
            let secondStart = try #require(final.map { time($0["start"]) }.filter { $0 > time(runs[0].end) }.min())
            let halfway = Timestamp(millisecondsSince1970: (time(runs[0].end) + secondStart) / 2)
            let between = try box.sluice([
                "restore", "--timestamp", RFC3339.format(halfway),
                "-o", box.path("between.db"), backend.url,
            ])
            try #require(between.status == 0, "restore at \(RFC3339.format(halfway)) failed: \(between.stderr)")
            #expect(try box.dump("between.db") == runs[0].rows)
            #expect(runs.map(\.rows.count) == [20, 44, 64], "each run added its rows")
        }
    }

    /// Milliseconds since 1970 of an RFC 3339 time from the JSON listing; -1 when it is not one.
    func time(_ value: Any?) -> Int64 {
        (value as? String).flatMap(RFC3339.parse)?.millisecondsSince1970 ?? -1
    }
}
