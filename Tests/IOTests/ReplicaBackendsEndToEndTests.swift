import Foundation
import Testing
import Core

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
        let replicator = try box.startReplicate("app.db", replicas: [replica], extra: ["--min-checkpoint-page-count", "200"])
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
        let server = try await SSHServer.start()
        defer { server.stop() }
        let box = try SluiceSandbox()
        defer { box.remove() }
        let location = server.location("replica")
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        let fingerprint = server.hostKeySHA256.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let url = "sftp://\(location.user)@127.0.0.1:\(server.port)\(location.path.addingPercentEncoding(withAllowedCharacters: allowed)!)"
            + "?key=\(server.userKey.addingPercentEncoding(withAllowedCharacters: allowed)!)&host-key-sha256=\(fingerprint)"
        try roundTrip(box, replica: url)
    }

    @Test("lease: a second replicator on a held location is refused naming the holder; after SIGKILL a new one takes over within the lease period")
    func leaseTakeover() throws {
        let box = try SluiceSandbox()
        defer { box.remove() }
        for name in ["first.db", "second.db"] { try box.writer(name, ["init"]) }
        let lease = ["--lease-duration", "3s"]
        let first = try box.startReplicate("first.db", replicas: [box.url("replica")], extra: lease)
        try box.writer("first.db", ["small", "--count", "3", "--batch", "one"])
        #expect(try eventually { FileManager.default.fileExists(atPath: box.path("replica/generations")) },
                "the first replicator never wrote:\n\(first.log)")

        // A second replicator, for another database, on the same location.
        let refused = try box.sluice(["replicate", box.path("second.db"), box.url("replica")] + lease, timeout: .seconds(30))
        #expect(refused.status != 0)
        let lines = refused.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(lines.count == 1, "stderr: \(refused.stderr)")
        #expect(refused.stderr.contains("in use by another replicator"), "stderr: \(refused.stderr)")
        #expect(refused.stderr.contains(":\(first.process.processIdentifier)"), "the holder's pid is named: \(refused.stderr)")

        // The holder dies without releasing; its lease must expire within the lease period.
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        let killedAt = Date()
        var successor: BackgroundProcess?
        while successor == nil, Date().timeIntervalSince(killedAt) < 10 {
            let attempt = try box.startReplicate("second.db", replicas: [box.url("replica")], extra: lease)
            Thread.sleep(forTimeInterval: 0.5)
            if attempt.process.isRunning { successor = attempt } else { Thread.sleep(forTimeInterval: 0.25) }
        }
        let next = try #require(successor, "no replicator could take the location over after the holder was killed")
        #expect(Date().timeIntervalSince(killedAt) < 3 + 2, "takeover took longer than the lease period plus start-up")
        try box.writer("second.db", ["small", "--count", "5", "--batch", "two"])
        #expect(try next.terminate() == 0, "successor log:\n\(next.log)")

        // The successor's history is restorable.
        let restore = try box.sluice(["restore", "-o", box.path("restored.db"), box.url("replica")])
        try #require(restore.status == 0, "restore failed: \(restore.stderr)")
        #expect(try dump(box, "restored.db") == (try dump(box, "second.db")))
    }
}
