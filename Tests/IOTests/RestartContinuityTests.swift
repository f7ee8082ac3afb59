import Foundation
import TestSupport
import Testing

/// End-to-end: restarts of the real `sluice replicate` that find the database as the last run left
/// it continue its generation without a new snapshot, even when the app emptied or deleted the
/// WAL meanwhile (closing its last connection does), and restarts that find it changed begin a
/// new one. Before the stop record, every start of an idle database uploaded a full snapshot.
@Suite("sluice: restarts continue the generation of an unchanged database", .serialized)
struct RestartContinuityTests {
    @Test("replicate: an idle database restarted 20 times has one generation and one snapshot")
    func idleRestarts() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            // The writer closes its only connection, so SQLite checkpoints and deletes the WAL.
            try box.writer("app.db", ["init"])
            try box.writer("app.db", ["small", "--count", "5"])
            #expect(!box.exists("app.db-wal"))

            for run in 1...20 {
                try runOnce(box, label: "run \(run)")
            }
            #expect(try generations(box, box.url("replica")).count == 1)
            #expect(try snapshotCount(box) == 1)
            try expectRestoreEqualsSource(box)
        }
    }

    @Test("replicate: a restart after the app wrote, stopped and closed its last connection continues")
    func restartAfterAppClosedContinues() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])

            let first = try box.startReplicate("app.db", replicas: [box.url("replica")])
            try box.writer("app.db", ["small", "--count", "20", "--batch", "first"])
            #expect(try first.terminate() == 0, "replicate log:\n\(first.log)")
            #expect(first.log.contains("stop recorded"), "replicate log:\n\(first.log)")
            // The app reads once more and closes its last connection: SQLite checkpoints into the
            // database file (nothing left to copy: the stop did) and deletes the WAL.
            #expect(try box.writer("app.db", ["count"]).trimmed == "20")
            #expect(!box.exists("app.db-wal"))

            let second = try box.startReplicate("app.db", replicas: [box.url("replica")])
            try box.writer("app.db", ["small", "--count", "10", "--batch", "second"])
            #expect(try second.terminate() == 0, "replicate log:\n\(second.log)")
            #expect(second.log.contains("continuing generation"), "replicate log:\n\(second.log)")

            #expect(try generations(box, box.url("replica")).count == 1)
            #expect(try snapshotCount(box) == 1)
            try expectRestoreEqualsSource(box)
        }
    }

    @Test("replicate: a write while sluice is stopped, then the app's last close, starts a new generation")
    func changedWhileStoppedStartsNewGeneration() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            try runOnce(box, label: "first")

            // Written and checkpointed into the database file with nobody watching: those commits
            // are in no WAL the next start can read, so the generation cannot continue.
            try box.writer("app.db", ["small", "--count", "3", "--batch", "downtime"])
            #expect(!box.exists("app.db-wal"))
            try runOnce(box, label: "second")

            #expect(try generations(box, box.url("replica")).count == 2)
            #expect(try snapshotCount(box) == 2)
            try expectRestoreEqualsSource(box)
        }
    }
}

/// Starts `sluice replicate`, waits until it has decided its generation, and stops it with SIGTERM.
private func runOnce(_ box: SluiceSandbox, label: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let replicator = try box.startReplicate("app.db", replicas: [box.url("replica")])
    let decided = eventually(timeout: .seconds(60)) {
        replicator.log.contains("continuing generation") || replicator.log.contains("new generation")
    }
    #expect(decided, "\(label): no generation decision; log:\n\(replicator.log)", sourceLocation: sourceLocation)
    #expect(
        try replicator.terminate() == 0, "\(label): replicate log:\n\(replicator.log)", sourceLocation: sourceLocation)
}

/// Snapshots on the replica, in every generation.
private func snapshotCount(_ box: SluiceSandbox) throws -> Int {
    let outcome = try box.sluice(["snapshots", box.url("replica")])
    try #require(outcome.status == 0, "snapshots failed: \(outcome.stderr)")
    return tableRows(outcome.stdout).count
}

private func expectRestoreEqualsSource(_ box: SluiceSandbox, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let restore = try box.sluice(["restore", "--integrity-check", "-o", box.path("restored.db"), box.url("replica")])
    try #require(restore.status == 0, "restore failed: \(restore.stderr)", sourceLocation: sourceLocation)
    #expect(try dump(box, "restored.db") == (try dump(box, "app.db")), sourceLocation: sourceLocation)
}
