import Foundation
import TestSupport
import Testing

/// `sluice restore --follow` against a busy primary, with the real binary: a writer commits
/// transfers continuously while `sluice replicate` ships them, a follower keeps a database in
/// another folder current, and readers query that database the whole time, checking invariants
/// a torn or uncommitted state would break. The replicator is restarted once (same generation)
/// and once after a checkpoint it did not see (a new generation the follower must switch to).
@Suite("sluice restore --follow: a read replica of a busy primary", .serialized)
struct FollowEndToEndTests {
    @Test(
        "file replica: readers see whole transactions through a replicator restart and a generation change; ends equal")
    func followFileReplica() async throws {
        let figures = try await onFileReplica { try $0.run() }
        print("follow (file): \(figures)")
    }

    /// Runs `body` on a scenario over a file replica in a fresh sandbox.
    func onFileReplica<T>(_ body: (FollowScenario) throws -> T) async throws -> T {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            return try body(FollowScenario(box: box, replica: box.url("replica")))
        }
    }

    @Test("S3 (moto): the same, and a steady follow costs one listing request per poll")
    func followS3Replica() async throws {
        try await blocking {
            let moto = try await MotoServer.start()
            defer { moto.stop() }
            try await moto.createBucket("sluice-follow")
            ReplicaBackendsEndToEndTests.setCredentials()
            let box = try SluiceSandbox()
            defer { box.remove() }
            let replica = ReplicaBackendsEndToEndTests.s3URL(bucket: "sluice-follow", endpoint: moto.endpoint)
            let figures = try FollowScenario(box: box, replica: replica).run()
            print("follow (s3): \(figures)")
            #expect(figures.listRequests <= figures.polls, "more than one listing request per poll: \(figures)")
        }
    }
}

extension FollowEndToEndTests {
    @Test("SIGINT while the primary is busy stops the follower between transactions: exit 0, a consistent output")
    func interrupt() async throws {
        try await onFileReplica { try $0.interruptRounds(3) }
    }

    @Test("a damaged new segment stops the follower with a one-line error naming the WAL; the output stays whole")
    func damagedSegment() async throws {
        try await onFileReplica { try $0.damagedSegment() }
    }
}

/// What a follow run measured.
struct FollowFigures: CustomStringConvertible {
    var lags: [Double]
    var polls: Int
    var listRequests: Int
    var readerTransactions: Int
    var heldSnapshots: Int

    var description: String {
        let sorted = lags.sorted()
        let p50 = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        return "lag p50 \(Int(p50 * 1000)) ms, max \(Int((sorted.last ?? 0) * 1000)) ms over \(lags.count) samples; "
            + "\(polls) polls, \(listRequests) listing requests; readers ran \(readerTransactions) transactions, "
            + "held \(heldSnapshots) snapshots"
    }
}

/// One follow run: primary, replicator, follower and readers, then the checks.
struct FollowScenario {
    let box: SluiceSandbox
    let replica: String

    static let script = SluiceSandbox.packageRoot
        .appendingPathComponent("Tests/IOTests/Fixtures/follow_workload.py").path

    var primary: String { box.path("primary.db") }
    var output: String { box.path("follower/out.db") }

    func run() throws -> FollowFigures {
        try FileManager.default.createDirectory(atPath: box.path("follower"), withIntermediateDirectories: true)
        let writer = try python(primary, ["writer", "--stop", box.path("stop-writer")], log: "writer.log")
        defer { writer.killNow() }
        #expect(eventually { ((try? last(primary)) ?? 0) > 0 }, "the writer did not start: \(writer.log)")
        var replicator = try box.startReplicate("primary.db", replicas: [replica])
        defer { replicator.killNow() }
        try waitForSnapshot(replicator)

        let follower = try BackgroundProcess(
            executable: SluiceSandbox.binary,
            arguments: ["restore", "-f", "--interval", "200ms", "-o", output, replica]
                + (ProcessInfo.processInfo.environment["SLUICE_FOLLOW_LOG"] != nil ? ["--log-level", "debug"] : []),
            logPath: box.path("follower.log"))
        defer { follower.killNow() }
        try #require(
            eventually(timeout: .seconds(60)) { box.exists("follower/out.db") },
            "follower log:\n\(follower.log)")
        let readers = try (0..<2).map {
            try python(
                output, ["reader", "--stop", box.path("stop-readers"), "--out", box.path("reader-\($0).json")],
                log: "reader-\($0).log")
        }
        defer { readers.forEach { $0.killNow() } }
        try catchUp(follower, label: "first follow")

        _ = try replicator.terminate()
        replicator = try box.startReplicate("primary.db", replicas: [replica])
        #expect(eventually { replicator.log.contains("continuing generation") }, "replicate log:\n\(replicator.log)")
        try catchUp(follower, label: "after a replicator restart")

        // A checkpoint the replicator does not see ends its generation's continuity.
        _ = try replicator.terminate()
        _ = try pythonOutput(primary, ["checkpoint"])
        replicator = try box.startReplicate("primary.db", replicas: [replica])
        #expect(eventually { replicator.log.contains("new generation") }, "replicate log:\n\(replicator.log)")
        #expect(
            eventually(timeout: .seconds(60)) { follower.log.contains("follow.generation") },
            "follower log:\n\(follower.log)")
        try catchUp(follower, label: "after a generation change")

        _ = FileManager.default.createFile(atPath: box.path("stop-writer"), contents: nil)
        #expect(waitForExit(writer.process, timeout: .seconds(30)), "writer log: \(writer.log)")
        let source = try pythonOutput(primary, ["dump"])
        let equal = eventually(timeout: .seconds(180)) { (try? pythonOutput(output, ["dump"])) == source }
        #expect(equal, "the follower never matched the source; follower log:\n\(follower.log)")

        _ = FileManager.default.createFile(atPath: box.path("stop-readers"), contents: nil)
        for reader in readers {
            #expect(waitForExit(reader.process, timeout: .seconds(30)), "reader log: \(reader.log)")
        }
        var figures = try readerFigures(count: readers.count)
        #expect(try follower.terminate() == 0, "follower log:\n\(follower.log)")
        #expect(try pythonOutput(output, ["integrity"]) == "ok")
        #expect(try pythonOutput(output, ["dump"]) == source)
        (figures.polls, figures.listRequests) = try pollFigures(follower.log)
        if ProcessInfo.processInfo.environment["SLUICE_FOLLOW_LOG"] != nil { print(follower.log) }
        _ = try replicator.terminate()
        return figures
    }

    /// Starts followers on a busy primary and interrupts each once it has applied something;
    /// each must exit 0 with its output whole.
    func interruptRounds(_ rounds: Int) throws {
        let writer = try python(primary, ["writer", "--stop", box.path("stop-writer")], log: "writer.log")
        defer { writer.killNow() }
        #expect(eventually { ((try? last(primary)) ?? 0) > 0 }, "the writer did not start: \(writer.log)")
        let replicator = try box.startReplicate("primary.db", replicas: [replica])
        defer { replicator.killNow() }
        try waitForSnapshot(replicator)
        for round in 0..<rounds {
            let output = box.path("follower-\(round).db")
            let follower = try BackgroundProcess(
                executable: SluiceSandbox.binary,
                arguments: ["restore", "-f", "--interval", "100ms", "-o", output, replica],
                logPath: box.path("follower-\(round).log"))
            defer { follower.killNow() }
            let start = ((try? last(primary)) ?? 0)
            let applied = eventually(timeout: .seconds(60)) { ((try? last(output)) ?? 0) > start + 20 * round }
            try #require(applied, "round \(round): nothing applied; log:\n\(follower.log)")
            kill(follower.process.processIdentifier, SIGINT)
            #expect(waitForExit(follower.process, timeout: .seconds(30)), "round \(round): no exit after SIGINT")
            #expect(follower.process.terminationStatus == 0, "round \(round): log:\n\(follower.log)")
            #expect(follower.log.contains("polls:"), "round \(round): no summary; log:\n\(follower.log)")
            #expect(try pythonOutput(output, ["integrity"]) == "ok")
            #expect(try pythonOutput(output, ["check"]) == "ok")
        }
        _ = FileManager.default.createFile(atPath: box.path("stop-writer"), contents: nil)
        #expect(waitForExit(writer.process, timeout: .seconds(30)))
        _ = try replicator.terminate()
    }

    private func waitForSnapshot(_ replicator: BackgroundProcess) throws {
        let planned = eventually(timeout: .seconds(60)) {
            (try? box.sluice(["restore", "--dry-run", "-o", box.path("probe.db"), replica]).status) == 0
        }
        try #require(planned, "no snapshot on the replica; replicate log:\n\(replicator.log)")
    }

    /// Follows until caught up with a stopped primary, then puts a segment that does not continue
    /// the WAL (a copy of the index's first one) where the next one would go.
    func damagedSegment() throws {
        let writer = try python(primary, ["writer", "--stop", box.path("stop-writer")], log: "writer.log")
        defer { writer.killNow() }
        #expect(eventually { ((try? last(primary)) ?? 0) > 0 }, "the writer did not start: \(writer.log)")
        var replicator = try box.startReplicate("primary.db", replicas: [replica])
        defer { replicator.killNow() }
        try waitForSnapshot(replicator)
        try FileManager.default.createDirectory(atPath: box.path("follower"), withIntermediateDirectories: true)
        let follower = try BackgroundProcess(
            executable: SluiceSandbox.binary,
            arguments: ["restore", "-f", "--interval", "100ms", "--log-level", "debug", "-o", output, replica],
            logPath: box.path("follower.log"))
        defer { follower.killNow() }
        try catchUp(follower, label: "before the damage", ticks: 50)
        _ = FileManager.default.createFile(atPath: box.path("stop-writer"), contents: nil)
        #expect(waitForExit(writer.process, timeout: .seconds(30)))
        _ = try replicator.terminate()
        replicator = try box.startReplicate("primary.db", replicas: [replica])
        _ = try replicator.terminate()
        let source = try pythonOutput(primary, ["dump"])
        #expect(eventually(timeout: .seconds(180)) { (try? pythonOutput(output, ["dump"])) == source })

        // Where the follower stands: the position of its last step (or of its restore).
        let positions = follower.log.split(separator: "\n").compactMap { line -> Substring? in
            guard let range = line.range(of: "follow.position=") else { return nil }
            return line[range.upperBound...].split(separator: " ").first
        }
        let parts = try #require(positions.last, "no position in:\n\(follower.log)").split(separator: "/")
        let indexAndOffset = parts[1].split(separator: ":")
        let folder = box.path("replica/generations/\(parts[0])/wal/\(indexAndOffset[0])")
        try FileManager.default.copyItem(
            atPath: folder + "/0000000000000000.wal.lz4",
            toPath: folder + "/\(indexAndOffset[1]).wal.lz4")

        #expect(waitForExit(follower.process, timeout: .seconds(60)), "the follower kept going; log:\n\(follower.log)")
        #expect(follower.process.terminationStatus == 1)
        let errors = follower.log.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        // The copy's frames do not continue the WAL; in an index after the first it also begins
        // with the seal every first segment of such an index carries, which is found first.
        let index = indexAndOffset[0]
        let copied = "\(parts[0])/\(index):\(indexAndOffset[1])"
        let named =
            errors.first.map {
                $0.contains("WAL index \(index) is invalid")
                    || $0.contains("WAL segment \(copied) is corrupt (the segment begins with a seal")
            } ?? false
        #expect(errors.count == 1 && named, "\(errors)")
        #expect(try pythonOutput(output, ["integrity"]) == "ok")
        #expect(try pythonOutput(output, ["dump"]) == source)
    }

    /// Lets the primary commit `ticks` more transactions, then waits until the follower's output
    /// holds them.
    private func catchUp(
        _ follower: BackgroundProcess, label: String, ticks: Int = 150,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let start = try last(primary)
        #expect(
            eventually(timeout: .seconds(60)) { ((try? last(primary)) ?? 0) >= start + ticks },
            "\(label): the writer stalled at \(start)", sourceLocation: sourceLocation)
        let target = try last(primary)
        // Generous: a debug build on a loaded machine applies slowly; this test is about correctness.
        let caught = eventually(timeout: .seconds(180)) { ((try? last(output)) ?? 0) >= target }
        #expect(
            caught, "\(label): the follower did not reach tick \(target); log:\n\(follower.log)",
            sourceLocation: sourceLocation)
    }

    private func readerFigures(count: Int) throws -> FollowFigures {
        var figures = FollowFigures(lags: [], polls: 0, listRequests: 0, readerTransactions: 0, heldSnapshots: 0)
        for index in 0..<count {
            let data = try Data(contentsOf: URL(fileURLWithPath: box.path("reader-\(index).json")))
            let findings = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let violations = findings["violations"] as? [String] ?? ["no findings"]
            #expect(violations.isEmpty, "reader \(index) saw: \(violations.prefix(5))")
            let errors = findings["errors"] as? [String] ?? []
            #expect(errors.count <= 3, "reader \(index) errors: \(errors.prefix(5))")
            figures.lags += findings["lags"] as? [Double] ?? []
            figures.readerTransactions += findings["transactions"] as? Int ?? 0
            figures.heldSnapshots += findings["held"] as? Int ?? 0
            #expect((findings["transactions"] as? Int ?? 0) > 50, "reader \(index) hardly ran: \(findings)")
        }
        return figures
    }

    /// Polls and listing requests from the follower's closing summary.
    private func pollFigures(_ log: String) throws -> (Int, Int) {
        let line = try #require(log.split(separator: "\n").first { $0.contains("polls:") }, "no summary in:\n\(log)")
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        try #require(numbers.count >= 2, "summary line: \(line)")
        return (numbers[0], numbers[1])
    }

    private func last(_ database: String) throws -> Int {
        Int(try pythonOutput(database, ["last"])) ?? 0
    }

    private func python(_ database: String, _ arguments: [String], log: String) throws -> BackgroundProcess {
        try BackgroundProcess(
            executable: "/usr/bin/env", arguments: ["python3", Self.script, database] + arguments,
            logPath: box.path(log))
    }

    private func pythonOutput(_ database: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script, database] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        guard waitForExit(process, timeout: .seconds(60)) else { throw FollowScenarioError.fixtureFailed(arguments) }
        guard process.terminationStatus == 0 else { throw FollowScenarioError.fixtureFailed(arguments) }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

enum FollowScenarioError: Error {
    case fixtureFailed([String])
}
