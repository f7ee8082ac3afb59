import Core
import Foundation
import IO
import TestSupport
import Testing

/// The real `sluice` binary against each replica backend and the one-writer lease, with the
/// Python writer in a separate process and row-for-row comparison of the restore.
@Suite("sluice: replica backends and leases, end to end", .serialized)
struct ReplicaBackendsEndToEndTests {
    func dump(_ box: SluiceSandbox, _ database: String) throws -> [String] {
        try box.writer(database, ["dump"]).split(separator: "\n").map(String.init)
    }

    /// Replicates a workload with small transactions, one that spills, and the writer's own
    /// TRUNCATE checkpoint, stops with SIGTERM, restores and compares.
    func roundTrip(_ box: SluiceSandbox, replica: String) throws {
        try box.writer("app.db", ["init"])
        let replicator = try box.startReplicate(
            "app.db", replicas: [replica], extra: ["--min-checkpoint-page-count", "200"])
        try box.writer("app.db", ["small", "--count", "20", "--batch", "a"])
        try box.writer("app.db", ["big", "--mb", "4"])
        try box.writer("app.db", ["checkpoint"])
        try box.writer("app.db", ["small", "--count", "20", "--batch", "b"])
        #expect(try replicator.terminate() == 0, "replicate log:\n\(replicator.log)")

        let restore = try box.sluice(["restore", "--integrity-check", "-o", box.path("restored.db"), replica])
        try #require(restore.status == 0, "restore failed: \(restore.stderr)")
        #expect(try dump(box, "restored.db") == (try dump(box, "app.db")))
        let generations = try box.sluice(["generations", replica])
        #expect(generations.status == 0, "generations failed: \(generations.stderr)")
    }

    @Test("SFTP: replicate to sshd on loopback, restore, compare row for row")
    func sftp() async throws {
        try await blocking {
            let server = try await SSHServer.start()
            defer { server.stop() }
            let box = try SluiceSandbox()
            defer { box.remove() }
            let location = server.location("replica")
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~/")
            let fingerprint = server.hostKeySHA256.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let url =
                "sftp://\(location.user)@127.0.0.1:\(server.port)\(location.path.addingPercentEncoding(withAllowedCharacters: allowed)!)"
                + "?key=\(server.userKey.addingPercentEncoding(withAllowedCharacters: allowed)!)&host-key-sha256=\(fingerprint)"
            try roundTrip(box, replica: url)
        }
    }

    /// Credentials moto accepts; the binary reads them from the environment it inherits.
    static func setCredentials() { _ = credentialsSet }

    /// Set once per test process (a lazy static runs once, under a lock): changing the
    /// environment while other suites spawn processes can hand a child a torn `environ`.
    private static let credentialsSet: Void = {
        setenv("AWS_ACCESS_KEY_ID", "sluice-test", 1)
        setenv("AWS_SECRET_ACCESS_KEY", "sluice-test-secret", 1)
        unsetenv("AWS_SESSION_TOKEN")
        unsetenv("AWS_PROFILE")
    }()

    static func s3URL(bucket: String, endpoint: String) -> String {
        "s3://\(bucket)/app?endpoint=\(endpoint)&region=us-east-1&force-path-style=true"
    }

    @Test("S3 (moto): replicate, restore, compare row for row")
    func s3() async throws {
        try await blocking {
            let moto = try await MotoServer.start()
            defer { moto.stop() }
            try await moto.createBucket("sluice-e2e")
            Self.setCredentials()
            let box = try SluiceSandbox()
            defer { box.remove() }
            try roundTrip(box, replica: Self.s3URL(bucket: "sluice-e2e", endpoint: moto.endpoint))
        }
    }

    @Test(
        "S3 behind a fault proxy (503s, ambiguous successes, resets, stalls, truncated bodies): replication catches up and the restore is exact"
    )
    func s3UnderFaults() async throws {
        try await blocking {
            try await withMotoReplica(bucket: "sluice-faults") { moto, direct in
                let box = try SluiceSandbox()
                defer { box.remove() }

                let proxy = try FaultProxy(
                    upstream: moto.endpoint, box: box,
                    arguments: [
                        "--seed", "7", "--rate-503", "0.08", "--rate-ambiguous", "0.05", "--rate-reset", "0.05",
                        "--rate-stall", "0.03", "--stall-seconds", "1.5", "--rate-truncate", "0.05",
                    ])
                defer { proxy.stop() }
                let throughProxy = Self.s3URL(bucket: "sluice-faults", endpoint: proxy.endpoint)

                try box.writer("app.db", ["init"])
                let replicator = try box.startReplicate(
                    "app.db", replicas: [throughProxy], extra: ["--min-checkpoint-page-count", "200"])
                try box.writer("app.db", ["small", "--count", "40", "--batch", "a", "--delay", "0.02"])
                try box.writer("app.db", ["big", "--mb", "3"])
                try box.writer("app.db", ["checkpoint"])
                try box.writer("app.db", ["small", "--count", "40", "--batch", "b", "--delay", "0.02"])
                let source = try dump(box, "app.db")

                // Caught up: a restore straight from moto (no faults) equals the source.
                let caughtUp = try eventually(timeout: .seconds(60)) {
                    try? FileManager.default.removeItem(atPath: box.path("probe.db"))
                    let probe = try box.sluice(["restore", "-o", box.path("probe.db"), direct])
                    guard probe.status == 0 else { return false }
                    return try dump(box, "probe.db") == source
                }
                #expect(caughtUp, "replication never caught up; replicate log:\n\(replicator.log)")
                #expect(try replicator.terminate() == 0, "replicate log:\n\(replicator.log)")

                // A restore through the faults retries its way to the same exact state.
                let restore = try box.sluice([
                    "restore", "--integrity-check", "-o", box.path("restored.db"), throughProxy,
                ])
                try #require(restore.status == 0, "restore through the proxy failed: \(restore.stderr)")
                #expect(try dump(box, "restored.db") == source)

                proxy.stop()
                let stats = try proxy.statistics()
                let injected = ["503", "ambiguous", "reset", "stall", "truncate"].reduce(0) {
                    $0 + ((stats[$1] as? Int) ?? 0)
                }
                #expect(injected >= 5, "faults injected: \(stats)")
            }
        }
    }

    @Test(
        "lease: a second replicator on a held location is refused naming the holder; after SIGKILL a new one takes over within the lease period",
        arguments: ["file", "s3"])
    func leaseTakeover(kind: String) async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            var moto: MotoServer?
            defer { moto?.stop() }
            let replica: String
            if kind == "s3" {
                let server = try await MotoServer.start()
                moto = server
                try await server.createBucket("sluice-lease")
                Self.setCredentials()
                replica = Self.s3URL(bucket: "sluice-lease", endpoint: server.endpoint)
            } else {
                replica = box.url("replica")
            }
            for name in ["first.db", "second.db"] { try box.writer(name, ["init"]) }
            let lease = ["--lease-duration", "3s"]
            let first = try box.startReplicate("first.db", replicas: [replica], extra: lease)
            try box.writer("first.db", ["small", "--count", "3", "--batch", "one"])
            // Written: `generations` lists a row below its header.
            #expect(
                try eventually { try box.sluice(["generations", replica]).stdout.split(separator: "\n").count > 1 },
                "the first replicator never wrote:\n\(first.log)")

            // A second replicator, for another database, on the same location.
            let refused = try box.sluice(["replicate", box.path("second.db"), replica] + lease, timeout: .seconds(30))
            #expect(refused.status != 0)
            let lines = refused.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(lines.count == 1, "stderr: \(refused.stderr)")
            #expect(refused.stderr.contains("in use by another replicator"), "stderr: \(refused.stderr)")
            #expect(
                refused.stderr.contains(":\(first.process.processIdentifier)"),
                "the holder's pid is named: \(refused.stderr)")

            // The holder dies without releasing; its lease must expire within the lease period.
            first.killNow()
            let killedAt = ContinuousClock.now
            // The holder renewed before it died, so its lease ends within 3 s of the kill; an
            // attempt that starts later must take over. Each attempt is judged by its own end
            // (refused: it exits; taken: it logs the lease), never by how long it has run.
            var successor: BackgroundProcess?
            var refusedStarts: [Duration] = []
            while successor == nil, ContinuousClock.now - killedAt < .seconds(60) {
                let started = ContinuousClock.now - killedAt
                let attempt = try box.startReplicate("second.db", replicas: [replica], extra: lease)
                let decided = eventually(timeout: .seconds(60)) {
                    !attempt.process.isRunning || attempt.log.contains("lease acquired")
                }
                try #require(decided, "an attempt neither took the lease nor gave up; log:\n\(attempt.log)")
                if attempt.log.contains("lease acquired") {
                    successor = attempt
                } else {
                    refusedStarts.append(started)
                    #expect(attempt.log.contains("in use by another replicator"), "\(attempt.log)")
                }
            }
            let next = try #require(successor, "no replicator could take the location over after the holder was killed")
            #expect(
                refusedStarts.allSatisfy { $0 < .seconds(3) },
                "an attempt that started after the killed holder's lease had ended was refused: \(refusedStarts)")
            try box.writer("second.db", ["small", "--count", "5", "--batch", "two"])
            #expect(try next.terminate() == 0, "successor log:\n\(next.log)")

            // The successor's history is restorable.
            let restore = try box.sluice(["restore", "-o", box.path("restored.db"), replica])
            try #require(restore.status == 0, "restore failed: \(restore.stderr)")
            #expect(try dump(box, "restored.db") == (try dump(box, "second.db")))
        }
    }
}
