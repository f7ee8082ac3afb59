import Core
import Foundation
import TestSupport
import Testing

/// `sluice verify` against replicas that a real `sluice replicate` is writing: a writer commits
/// continuously, 200 transactions a second (with the replicator's own checkpoints, snapshots and
/// retention running), and verify runs again and again meanwhile. A healthy replica must never
/// be reported as damaged, whatever moment a listing catches; then the exit codes.
@Suite("sluice verify: live replicas and exit codes", .serialized)
struct VerifyLiveReplicaTests {
    /// How many verify runs must pass while the writer runs.
    static let runs = 30

    /// Replicates a continuous writer to `replica`, runs verify `runs` times during it, then
    /// stops everything and verifies once more with test restores.
    func verifyWhileWriting(_ box: SluiceSandbox, replica: String) throws {
        try box.writer("app.db", ["init"])
        let replicator = try box.startReplicate(
            "app.db", replicas: [replica],
            extra: [
                "--min-checkpoint-page-count", "100", "--snapshot-interval", "1s",
                "--retention", "2s", "--retention-check-interval", "500ms",
            ])
        let writer = try BackgroundProcess(
            executable: "/usr/bin/env",
            // Paced, not flat out: a writer at full speed grew the replica with the machine's
            // speed, until on a loaded machine one verify read gigabytes and outran its timeout.
            arguments: [
                "python3", SluiceSandbox.writerScript, box.path("app.db"), "small", "--count", "10000000", "--rate",
                "200",
            ],
            logPath: box.path("writer.log"))
        defer { writer.killNow() }
        try #require(
            eventually { (try? box.sluice(["generations", replica]).stdout.contains("\n")) == true },
            "nothing replicated; log:\n\(replicator.log)")
        var problems: [String] = []
        var liveSeen = 0
        var rechecks: [String] = []
        let started = ContinuousClock.now
        var run = 0
        // At least `runs` runs, and long enough for snapshots and retention to run meanwhile.
        while run < Self.runs || ContinuousClock.now - started < .seconds(15) {
            run += 1
            let outcome = try box.sluice(["verify", "--json", "--log-level", "debug", replica], timeout: .seconds(120))
            rechecks += outcome.stderr.split(separator: "\n").filter { $0.contains("verify.recheck") }.map(String.init)
            let document = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
            if outcome.status != 0 || document?["status"] as? String != "whole" {
                problems.append("run \(run): exit \(outcome.status): \(outcome.stdout) \(outcome.stderr)")
            }
            if outcome.stdout.contains("\"severity\":\"live\"") { liveSeen += 1 }
        }
        let writerLog = (try? String(contentsOfFile: box.path("writer.log"), encoding: .utf8)) ?? ""
        #expect(writer.process.isRunning, "the writer stopped early; log:\n\(writerLog)")
        #expect(
            problems.isEmpty, "verify reported problems on a healthy live replica:\n\(problems.joined(separator: "\n"))"
        )
        #expect(liveSeen > 0, "a live replica shows its open index")
        // What the second looks saw (races a single pass would have reported), for the record.
        print("verify live \(replica.prefix(5)): \(run) runs, \(rechecks.count) rechecked: \(rechecks.prefix(5))")
        writer.killNow()
        #expect(try replicator.terminate() == 0, "replicate log:\n\(replicator.log)")
        try extendPastLastSnapshot(box, replica: replica)
        // The restores go to a scratch folder in TMPDIR; a private one shows it is removed.
        let scratch = box.path("tmp")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: false)
        let final = try box.sluice(
            ["verify", "--restore", "--sample", "3", replica], timeout: .seconds(300),
            environment: ["TMPDIR": scratch])
        #expect(final.status == 0, "final verify: \(final.stdout) \(final.stderr)")
        #expect(
            final.stdout.components(separatedBy: "integrity_check passed").count - 1 >= 2,
            "the latest state and sampled boundaries were restored: \(final.stdout)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch).isEmpty, "verify --restore left files")
    }

    /// Only boundaries in WAL indexes after a generation's first snapshot can be restored
    /// exactly, and retention may have left the newest generation a single index; so a quiet
    /// replicator (no snapshots, no retention, a checkpoint at every page) adds indexes after
    /// the last snapshot before the final verify samples boundaries.
    func extendPastLastSnapshot(_ box: SluiceSandbox, replica: String) throws {
        let tail = try box.startReplicate(
            "app.db", replicas: [replica],
            extra: [
                "--min-checkpoint-page-count", "1", "--snapshot-interval", "1h", "--retention", "24h",
            ])
        func newestIndexes() throws -> (snapshot: Int, segment: Int)? {
            func rows(_ command: String, _ key: String) throws -> [[String: Any]] {
                let outcome = try box.sluice([command, "--json", replica])
                let document = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
                return document?[key] as? [[String: Any]] ?? []
            }
            let snapshots = try rows("snapshots", "snapshots")
            guard let generation = snapshots.compactMap({ $0["generation"] as? String }).max() else { return nil }
            let ofNewest = { (row: [String: Any]) in row["generation"] as? String == generation }
            let snapshot = snapshots.filter(ofNewest).compactMap { $0["index"] as? Int }.max()
            let segment = try rows("wal", "wal_segments").filter(ofNewest).compactMap { $0["index"] as? Int }.max()
            guard let snapshot, let segment else { return nil }
            return (snapshot, segment)
        }
        let extended = try eventually(timeout: .seconds(120)) {
            try box.writer("app.db", ["small", "--count", "20"])
            return try newestIndexes().map { $0.segment > $0.snapshot } ?? false
        }
        #expect(extended, "no WAL index after the last snapshot; log:\n\(tail.log)")
        #expect(try tail.terminate() == 0, "replicate log:\n\(tail.log)")
    }

    @Test("file: 30 verify runs during continuous replication report no problem")
    func file() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try verifyWhileWriting(box, replica: box.url("replica"))
        }
    }

    @Test("S3 (moto): 30 verify runs during continuous replication report no problem")
    func s3() async throws {
        try await blocking {
            try await withMotoReplica(bucket: "sluice-verify") { _, replica in
                let box = try SluiceSandbox()
                defer { box.remove() }
                try verifyWhileWriting(box, replica: replica)
            }
        }
    }

    @Test("SFTP: 30 verify runs during continuous replication report no problem")
    func sftp() async throws {
        try await blocking {
            try await withSFTPReplica { replica in
                let box = try SluiceSandbox()
                defer { box.remove() }
                try verifyWhileWriting(box, replica: replica)
            }
        }
    }

    @Test("exit codes: 0 whole, 1 problems, 2 could not check (bad URL, unreachable, missing database)")
    func exitCodes() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            let replicator = try box.startReplicate("app.db", replicas: [box.url("replica")])
            try box.writer("app.db", ["small", "--count", "10"])
            #expect(try replicator.terminate() == 0)

            #expect(try box.sluice(["verify", box.url("replica")]).status == 0)
            // DB_PATH resolves the replicas `replicate` recorded beside the database.
            let byPath = try box.sluice(["verify", box.path("app.db")])
            #expect(byPath.status == 0, "\(byPath.stdout) \(byPath.stderr)")

            let segment = try #require(ReplicaFolder(root: box.path("replica")).objects().first { $0.kind == .segment })
            let path = box.path("replica/generations/\(segment.key).wal.lz4")
            var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[bytes.count / 2] ^= 0xFF
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let damaged = try box.sluice(["verify", "--json", box.url("replica")])
            #expect(damaged.status == 1)
            try Self.checkSchema(damaged.stdout)

            for arguments in [
                ["verify", "s3://"], ["verify", "ftp://example/x"], ["verify", box.path("missing.db")],
                ["verify", "s3://bucket/p?endpoint=http://127.0.0.1:1&region=us-east-1"],
                ["verify", "--sample", "2", box.url("replica")],
            ] {
                let outcome = try box.sluice(arguments, timeout: .seconds(120))
                #expect(
                    outcome.status == 2, "\(arguments): exit \(outcome.status): \(outcome.stdout) \(outcome.stderr)")
                let lines = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
                #expect(lines.count == 1, "\(arguments): \(outcome.stderr)")
            }
        }
    }

    /// The `--json` document has the documented shape (docs/verify.md, `sluice.verify/1`).
    static func checkSchema(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            sourceLocation: sourceLocation)
        #expect(document["schema"] as? String == "sluice.verify/1", sourceLocation: sourceLocation)
        #expect(
            document["status"] as? String == "problems" && document["exitStatus"] as? Int == 1,
            sourceLocation: sourceLocation)
        #expect((document["checkedAt"] as? String).flatMap(RFC3339.parse) != nil, sourceLocation: sourceLocation)
        let replica = try #require((document["replicas"] as? [[String: Any]])?.first, sourceLocation: sourceLocation)
        #expect(replica["status"] as? String == "problems", sourceLocation: sourceLocation)
        let generation = try #require(
            (replica["generations"] as? [[String: Any]])?.first, sourceLocation: sourceLocation)
        for key in [
            "generation", "snapshots", "segments", "firstIndex", "lastIndex", "storedBytes", "checkedWALBytes",
            "checkedFrames", "start", "end",
        ] {
            #expect(generation[key] != nil, "generations[].\(key) missing", sourceLocation: sourceLocation)
        }
        let findings = try #require(replica["findings"] as? [[String: Any]], sourceLocation: sourceLocation)
        let problem = try #require(
            findings.first { $0["severity"] as? String == "problem" }, sourceLocation: sourceLocation)
        #expect(problem["kind"] as? String == "corrupt-object", "\(problem)", sourceLocation: sourceLocation)
        for key in ["generation", "object", "message"] {
            #expect(problem[key] is String, "findings[].\(key) missing", sourceLocation: sourceLocation)
        }
        #expect((generation["firstIndex"] as? String)?.count == 16, sourceLocation: sourceLocation)
    }
}
