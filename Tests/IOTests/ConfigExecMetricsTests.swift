import Foundation
import TestSupport
import Testing

/// End-to-end: the config file's `exec:` and `addr:` keys, and the `--exec`/`--addr` flags beside
/// a config file, run by the real binary over several databases in one process.
@Suite("sluice replicate -config: exec and addr", .serialized)
struct ConfigExecMetricsTests {
    /// Goal: `exec:` and `addr:` of a config file work across databases. Method: two databases
    /// (b.db larger, so its first sync ends later), three file replicas (two named, one not);
    /// the command checks that every replica holds a snapshot when it starts, then waits for the
    /// test; meanwhile /metrics must label both databases, and each replica by its configured
    /// name or, unnamed, its location. The command's status is sluice's.
    @Test(
        "exec: starts after every database's first sync and its status is sluice's; addr: labels db and the replica names"
    )
    func execAndAddrFromConfig() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("a.db", ["init"])
            try box.writer("b.db", ["init"])
            try box.writer("b.db", ["big", "--mb", "4"])
            let checks = ["a-backup", "b-backup", "b-second"].map { box.requireSnapshotScript($0) }
            let command =
                checks.joined(separator: "; ")
                + "; touch \(box.path("ready")); while [ ! -e \(box.path("done")) ]; do sleep 0.05; done; exit 5"
            let config = try box.writeConfig(
                """
                addr: 127.0.0.1:0
                exec: |-
                  sh -c '\(command)'
                dbs:
                  - path: \(box.path("a.db"))
                    monitor-interval: 100ms
                    replicas:
                      - name: near
                        path: \(box.path("a-backup"))
                        sync-interval: 100ms
                  - path: \(box.path("b.db"))
                    monitor-interval: 100ms
                    replicas:
                      - name: far
                        path: \(box.path("b-backup"))
                        sync-interval: 100ms
                      - path: \(box.path("b-second"))
                        sync-interval: 100ms
                """, name: "sluice.yml")
            let sluice = try BackgroundProcess(
                executable: SluiceSandbox.binary, arguments: ["replicate", "-config", config],
                logPath: box.path("replicate.log"))
            let port = try sluice.metricsPort()
            try #require(
                eventually(timeout: .seconds(60)) { box.exists("ready") || !sluice.process.isRunning },
                "log:\n\(sluice.log)")
            try #require(box.exists("ready"), "the command did not get past its snapshot checks; log:\n\(sluice.log)")

            let replicas = [
                (box.path("a.db"), "near"), (box.path("b.db"), "far"), (box.path("b.db"), box.path("b-second")),
            ]
            var scrape = try MetricsScrape.fetch(port)
            #expect(
                try eventually {
                    scrape = try MetricsScrape.fetch(port)
                    return replicas.allSatisfy {
                        scrape.value("sluice_replica_wal_offset", ["db": $0.0, "replica": $0.1]) != nil
                    }
                }, "a replica's labels are missing:\n\(scrape.text)")
            for database in ["a.db", "b.db"] {
                #expect(
                    (scrape.value("sluice_db_size", ["db": box.path(database)]) ?? 0) > 0,
                    "\(database):\n\(scrape.text)")
            }
            // The metered clients carry the same labels as the engine's reports.
            for (database, replica) in replicas {
                let put = ["db": database, "replica": replica, "type": "file", "operation": "PUT"]
                #expect((scrape.value("sluice_replica_operation_total", put) ?? 0) > 0, "\(put):\n\(scrape.text)")
            }
            #expect(
                !scrape.text.contains("replica=\"file\""), "an unnamed replica is labelled by its type:\n\(scrape.text)"
            )

            try Data().write(to: URL(fileURLWithPath: box.path("done")))
            try #require(waitForExit(sluice.process, timeout: .seconds(60)), "log:\n\(sluice.log)")
            #expect(sluice.process.terminationStatus == 5, "log:\n\(sluice.log)")
        }
    }

    /// Goal: a fatal error of one database, under `exec:`, stops the other database (after its
    /// final sync) and the command, and the reason is one line naming the database.
    @Test("a lost lease of one configured database stops the command and the other database; one error line names it")
    func fatalErrorUnderConfigExec() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            for database in ["a.db", "b.db"] { try box.writer(database, ["init"]) }
            let config = try box.writeConfig(
                """
                exec: |-
                  \(box.waitForSignalScript(exitStatus: 0))
                dbs:
                  - path: \(box.path("a.db"))
                    monitor-interval: 100ms
                    replicas:
                      - path: \(box.path("a-backup"))
                        sync-interval: 100ms
                        lease-duration: 3s
                  - path: \(box.path("b.db"))
                    monitor-interval: 100ms
                    replicas:
                      - path: \(box.path("b-backup"))
                        sync-interval: 100ms
                """, name: "sluice.yml")
            let sluice = try BackgroundProcess(
                executable: SluiceSandbox.binary, arguments: ["replicate", "-config", config],
                logPath: box.path("replicate.log"))
            try #require(eventually { box.exists("ready") }, "the command never started; log:\n\(sluice.log)")

            try await box.takeLeaseOver("a-backup")
            let line = try box.requireStoppedByFatalError(sluice)
            #expect(line.hasPrefix("error: replication failed, so sh was stopped: \(box.path("a.db")): "), "\(line)")
            #expect(line.contains("lease"), "\(line)")
            #expect(
                sluice.log.split(separator: "\n").contains {
                    $0.contains("replication stopped") && $0.contains(box.path("b.db"))
                },
                "b.db did not stop through its final sync; log:\n\(sluice.log)")
        }
    }

    /// Goal: `--exec` and `--addr` work beside a config file that does not set them, and are
    /// refused, in one line, beside one that does (neither silently wins).
    @Test("--exec and --addr beside a config file: used when the file has no exec:/addr:, refused when it has")
    func flagsBesideConfig() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            let databases = """
                dbs:
                  - path: \(box.path("app.db"))
                    monitor-interval: 100ms
                    replicas:
                      - path: \(box.path("backup"))
                        sync-interval: 100ms
                """
            let plain = try box.writeConfig(databases, name: "plain.yml")
            let outcome = try box.sluice([
                "replicate", "-config", plain, "-addr", "127.0.0.1:0", "-exec",
                "sh -c '\(box.requireSnapshotScript("backup")); exit 4'",
            ])
            #expect(outcome.status == 4, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("serving metrics"), "\(outcome.stderr)")

            let keyed = try box.writeConfig("exec: app\naddr: 127.0.0.1:0\n" + databases, name: "keyed.yml")
            let exec = try box.sluice(["replicate", "-config", keyed, "-exec", "other"])
            #expect(exec.status == 1)
            #expect(exec.stderr == "error: --exec was given and \(keyed) sets exec: too; give one or the other\n")
            let addr = try box.sluice(["replicate", "-config", keyed, "-addr", "127.0.0.1:0"])
            #expect(addr.status == 1)
            #expect(addr.stderr == "error: --addr was given and \(keyed) sets addr: too; give one or the other\n")
        }
    }
}
