import Core
import Foundation
import IO
import TestSupport
import Testing

/// End-to-end: `sluice replicate --exec` runs a command (a small `sh` script or the writer
/// fixture) under the real binary, over a real SQLite file and a file replica.
///
/// The scripts record what they saw in files of the sandbox; the tests wait on those files or on
/// the process's exit, never on a fixed sleep.
@Suite("sluice replicate --exec", .serialized)
struct ExecSupervisionTests {
    /// `replicate DB file://replica --exec SCRIPT` with short intervals, run to completion.
    private func runExec(_ box: SluiceSandbox, _ script: String, extra: [String] = []) throws -> SluiceSandbox.Outcome {
        try box.sluice(
            [
                "replicate", box.path("app.db"), box.url("replica"), "-sync-interval", "100ms",
                "-monitor-interval", "100ms", "-exec", "sh -c '\(script)'",
            ] + extra)
    }

    @Test("the command's exit status is sluice's, and it starts only after the first sync")
    func exitStatusPassesThrough() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            try box.writer("app.db", ["small", "--count", "3"])

            let failing = try runExec(box, "\(box.requireSnapshotScript()); exit 3")
            #expect(failing.status == 3, "stderr:\n\(failing.stderr)")
            let succeeding = try runExec(box, "\(box.requireSnapshotScript()); exit 0")
            #expect(succeeding.status == 0, "stderr:\n\(succeeding.stderr)")
            // Killed by a signal: 128 + the signal's number, as a shell reports it.
            let killed = try runExec(box, "kill -KILL $$")
            #expect(killed.status == 128 + SIGKILL, "stderr:\n\(killed.stderr)")
        }
    }

    @Test("a write the command makes just before exiting is on the replica when sluice exits")
    func finalSyncBeforeExit() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            let write =
                "/usr/bin/env python3 \(SluiceSandbox.writerScript) \(box.path("app.db")) small --count 7 --batch child"
            let outcome = try box.sluice(["replicate", box.path("app.db"), box.url("replica"), "-exec", write])
            try #require(outcome.status == 0, "stderr:\n\(outcome.stderr)")

            let restore = try box.sluice(["restore", "-o", box.path("restored.db"), box.url("replica")])
            try #require(restore.status == 0, "restore failed: \(restore.stderr)")
            #expect(try box.writer("restored.db", ["count"]).trimmingCharacters(in: .whitespacesAndNewlines) == "7")
        }
    }

    @Test("SIGTERM goes to the command, and sluice exits with the command's status")
    func signalIsForwarded() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            let sluice = try box.startReplicate(
                "app.db", replicas: [box.url("replica")], extra: ["-exec", box.waitForSignalScript(exitStatus: 7)])
            try #require(eventually { box.exists("ready") }, "the command never started; log:\n\(sluice.log)")
            #expect(try sluice.terminate() == 7, "log:\n\(sluice.log)")
            #expect(try String(contentsOfFile: box.path("got-signal"), encoding: .utf8) == "TERM\n")
        }
    }

    @Test("a lost lease stops the command and sluice exits 1 with the reason in one line")
    func fatalReplicationErrorStopsCommand() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            let sluice = try box.startReplicate(
                "app.db", replicas: [box.url("replica")],
                extra: ["-lease-duration", "3s", "-exec", box.waitForSignalScript(exitStatus: 0)])
            try #require(eventually { box.exists("ready") }, "the command never started; log:\n\(sluice.log)")

            try await box.takeLeaseOver("replica")
            let errorLine = try box.requireStoppedByFatalError(sluice)
            #expect(errorLine.contains("replication failed, so sh was stopped"))
            #expect(errorLine.contains("lease"))
        }
    }

    @Test("a command line with an open quote is refused before anything starts")
    func badCommandLine() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            let outcome = try box.sluice([
                "replicate", box.path("app.db"), box.url("replica"), "-exec", "app 'unclosed",
            ])
            #expect(outcome.status == 1)
            #expect(outcome.stderr == "error: --exec: the command has an unterminated ' quote\n")
            #expect(!box.exists("replica"))
        }
    }

    @Test("a command that does not exist exits 127 after a final sync")
    func missingCommand() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            let outcome = try box.sluice([
                "replicate", box.path("app.db"), box.url("replica"), "-exec", "/nonexistent/app --flag",
            ])
            #expect(outcome.status == 127)
            #expect(outcome.stderr.contains("error: cannot start /nonexistent/app: No such file or directory"))
        }
    }

    @Test(
        "the container recipe: restore if needed, then replicate with the app under --exec; a new container gets the data back"
    )
    func containerRecipe() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            let db = box.path("app.db")
            let writer = "/usr/bin/env python3 \(SluiceSandbox.writerScript) \(db)"
            // docs/deployment.md's entrypoint, with the writer fixture as the application.
            let entrypoint = """
                set -e
                \(SluiceSandbox.binary) restore -if-db-not-exists -if-replica-exists -o \(db) \(box.url("replica"))
                [ -e \(db) ] || touch \(db)
                exec \(SluiceSandbox.binary) replicate -exec "sh -c '\(writer) init && \(writer) small --count 5'" \(db) \(box.url("replica"))
                """
            for run in 1...2 {
                // Each run is a new container: no database, no local state, only the replica.
                for name in try box.entries() where name != "replica" && !name.hasPrefix("replicate-") {
                    try FileManager.default.removeItem(atPath: box.path(name))
                }
                let container = try BackgroundProcess(
                    executable: "/bin/sh", arguments: ["-c", entrypoint],
                    logPath: box.path("replicate-\(run).log"))
                try #require(waitForExit(container.process, timeout: .seconds(60)), "log:\n\(container.log)")
                try #require(container.process.terminationStatus == 0, "run \(run) log:\n\(container.log)")
                #expect(
                    try box.writer("app.db", ["count"]).trimmingCharacters(in: .whitespacesAndNewlines) == "\(5 * run)")
            }
        }
    }
}
