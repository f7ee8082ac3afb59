import Foundation
import TestSupport
import Testing

/// End-to-end: `sluice replicate --addr 127.0.0.1:0` serves Prometheus text at `/metrics` while it
/// replicates a database that the writer fixture keeps writing; the test scrapes it over a real
/// socket. The port is the one sluice picked and logged, so two runs never race for one.
@Suite("sluice replicate --addr", .serialized)
struct MetricsEndpointTests {
    /// Starts replicate with the endpoint on a port of its choosing; returns it and the port.
    private func start(_ box: SluiceSandbox, extra: [String] = []) throws -> (BackgroundProcess, Int) {
        let sluice = try box.startReplicate(
            "app.db", replicas: [box.url("replica")], extra: ["-addr", "127.0.0.1:0"] + extra)
        return (sluice, try sluice.metricsPort())
    }

    @Test("metrics: names and labels, progress after writes, and a lag that rises while uploads wait and falls after")
    func scrapeShowsProgressAndLag() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            // Uploads at most every 2 s while the shadow copies every 100 ms: the replica is held
            // back between uploads, and its lag must climb, then drop when an upload lands.
            let (sluice, port) = try start(box, extra: ["-sync-interval", "2s"])
            let db = ["db": box.path("app.db")]
            let replica = ["db": box.path("app.db"), "replica": box.path("replica")]

            // The writer starts once the replicator has made its first pass: a writer started while
            // the start-up still decides the generation could wait out its busy timeout on a
            // loaded machine, and then nothing would move at all.
            #expect(
                try eventually(timeout: .seconds(60)) {
                    (try MetricsScrape.fetch(port).value("sluice_sync_count", db) ?? 0) > 0
                }, "no sync pass; log:\n\(sluice.log)")
            let writer = try BackgroundProcess(
                executable: "/usr/bin/env",
                arguments: [
                    "python3", SluiceSandbox.writerScript, box.path("app.db"), "small", "--count", "60",
                    "--delay", "0.1",
                ],
                logPath: box.path("writer.log"))
            defer { writer.killNow() }
            var lags: [Double] = []
            var shadowSizes: [Double] = []
            var sawFall = false
            let deadline = ContinuousClock.now + .seconds(60)
            while writer.process.isRunning || !sawFall, ContinuousClock.now < deadline {
                let scrape = try MetricsScrape.fetch(port)
                if let lag = scrape.value("sluice_replica_lag_seconds", replica) {
                    if let peak = lags.max(), peak >= 0.5, lag < peak - 0.3 { sawFall = true }
                    lags.append(lag)
                }
                if let size = scrape.value("sluice_shadow_wal_size", db), size != shadowSizes.last {
                    shadowSizes.append(size)
                }
                usleep(50_000)
            }
            try #require(waitForExit(writer.process, timeout: .seconds(120)), "the writer never finished")
            try #require(
                writer.process.terminationStatus == 0,
                "the writer failed:\n\(writer.log)\nreplicate log:\n\(sluice.log)")
            let seen = "lags \(lags.count) scrapes, max \(lags.max() ?? 0); shadow sizes seen: \(shadowSizes)"
            #expect(lags.contains { $0 >= 0.5 }, "lag never rose: \(seen)\nreplicate log:\n\(sluice.log)")
            #expect(sawFall, "lag never fell after an upload: \(seen)")

            // Once the writer stops, the replica catches up: no lag, and it holds the shadow's end.
            var last = try MetricsScrape.fetch(port)
            #expect(
                try eventually {
                    last = try MetricsScrape.fetch(port)
                    return last.value("sluice_replica_lag_seconds", replica) == 0
                        && last.value("sluice_replica_wal_offset", replica) == last.value("sluice_shadow_wal_size", db)
                }, "replica never caught up:\n\(last.text)")
            #expect((last.value("sluice_total_wal_bytes", db) ?? 0) > 0)
            #expect((last.value("sluice_db_size", db) ?? 0) > 0)
            #expect((last.value("sluice_wal_size", db) ?? 0) > 0)
            #expect((last.value("sluice_sync_count", db) ?? 0) > 0)
            #expect(last.value("sluice_sync_error_count", db) == 0)
            #expect(last.value("sluice_replica_lease_held", replica) == 1)
            #expect(last.value("sluice_replica_snapshot_age_seconds", replica) != nil)
            let put = replica.merging(["type": "file", "operation": "PUT"]) { $1 }
            #expect((last.value("sluice_replica_operation_total", put) ?? 0) > 0)
            #expect((last.value("sluice_replica_operation_bytes", put) ?? 0) > 0)
            #expect(last.text.contains("# TYPE sluice_replica_lag_seconds gauge"))
            #expect(last.text.contains("# TYPE sluice_total_wal_bytes counter"))

            #expect(try MetricsScrape.get(port, "/").status == 404)
            #expect(try sluice.terminate() == 0, "log:\n\(sluice.log)")
        }
    }

    @Test("metrics: a port in use is a one-line error before replication starts")
    func portInUse() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            let (first, port) = try start(box)
            let second = try box.sluice([
                "replicate", box.path("app.db"), box.url("other"), "-addr", "127.0.0.1:\(port)",
            ])
            #expect(second.status == 1)
            #expect(second.stderr == "error: --addr 127.0.0.1:\(port): Address already in use\n")
            #expect(!box.exists("other"))
            #expect(try first.terminate() == 0)

            let bad = try box.sluice(["replicate", box.path("app.db"), box.url("other"), "-addr", "9090"])
            #expect(bad.status == 1)
            #expect(bad.stderr.hasPrefix("error: --addr 9090: '9090' is not a listen address"))
        }
    }

    @Test("metrics: the endpoint answers while replication is stalled on a replica that never replies")
    func answersWhileStalled() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            // A listener that never accepts: the kernel completes the TCP handshake, then the SFTP
            // client waits for an SSH banner that never comes, holding the engine in its lease.
            let blackHole = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(blackHole) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            try withUnsafeMutablePointer(to: &address) { pointer in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    try #require(bind(blackHole, $0, length) == 0 && listen(blackHole, 4) == 0)
                    try #require(getsockname(blackHole, $0, &length) == 0)
                }
            }
            let stalled =
                "sftp://user:secret@127.0.0.1:\(UInt16(bigEndian: address.sin_port))/replica?insecure-host-key=true"
            let sluice = try BackgroundProcess(
                executable: SluiceSandbox.binary,
                arguments: ["replicate", box.path("app.db"), stalled, "-addr", "127.0.0.1:0"],
                logPath: box.path("replicate.log"))
            let port = try sluice.metricsPort()
            // Each scrape must answer within curl's 5 s limit (fetch requires a 200): an endpoint
            // that waited on the hung replica would never answer at all.
            for _ in 1...5 {
                let scrape = try MetricsScrape.fetch(port)
                #expect(scrape.value("sluice_replica_operation_total", ["operation": "PUT", "type": "sftp"]) == 0)
            }
            #expect(!sluice.log.contains("lease acquired"), "the replica was meant to hang; log:\n\(sluice.log)")
            // The process is killed when `sluice` goes out of scope; a final sync would wait on the hang.
        }
    }
}
