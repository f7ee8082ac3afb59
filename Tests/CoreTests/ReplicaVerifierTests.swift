import Testing

@testable import Core

/// `ReplicaVerifier` over an in-memory replica: the whole flow (listing, snapshot, segments in
/// order, seals, sampling) without a file or a network.
@Suite("ReplicaVerifier")
struct ReplicaVerifierTests {
    let generation = Generation(value: 0x0000_0190_0000_0001)

    /// A 2-page SQLite file header with 512-byte pages.
    var snapshot: [UInt8] {
        var bytes = Array("SQLite format 3\0".utf8) + [UInt8](repeating: 0, count: 1024 - 16)
        bytes[16] = 0x02
        bytes[18] = 2
        bytes[19] = 2
        return bytes
    }

    /// Index 0 in two segments (cut at a commit) and index 1 sealed with index 0's end;
    /// `dropping` leaves out index 0's second segment.
    func replica(dropping: Bool = false) -> (MemoryReplicaClient, cut: UInt64) {
        var first = WALBuilder(pageSize: 512, salt1: 1, salt2: 2)
        first.transaction(pages: 2, fill: 1)
        let cut = first.bytes.count
        first.transaction(pages: 1, fill: 2)
        var second = WALBuilder(pageSize: 512, salt1: 3, salt2: 4)
        second.transaction(pages: 1, fill: 3)
        second.transaction(pages: 2, fill: 4)
        let client = MemoryReplicaClient()
        client.addSnapshot(generation, index: 0, raw: snapshot)
        client.addSegment(Position(generation: generation, index: 0, offset: 0), raw: Array(first.bytes[..<cut]))
        if !dropping {
            client.addSegment(
                Position(generation: generation, index: 0, offset: UInt64(cut)), raw: Array(first.bytes[cut...]))
        }
        let seal = WALIndexSeal(previousIndex: 0, previousEnd: UInt64(first.bytes.count)).frame.bytes
        client.addSegment(
            Position(generation: generation, index: 1, offset: 0), raw: second.bytes,
            compressed: seal + compressFrame(second.bytes))
        return (client, UInt64(cut))
    }

    func verify(_ client: MemoryReplicaClient, sample: Int = 0) async throws -> VerifyReport {
        try await ReplicaVerifier(
            client: client, environment: testEnvironment(fileSystem: MemoryFileSystem()),
            sampleSize: sample
        ).verify()
    }

    @Test(
        "whole: no problem, every frame checked, the open index live, boundaries sampled after the first snapshot's index"
    )
    func whole() async throws {
        let report = try await verify(replica().0, sample: 10)
        #expect(report.problems.isEmpty, "\(report.findings)")
        #expect(report.findings.map(\.kind) == [.openIndex])
        #expect(report.generations.first?.checkedFrameCount == 6)
        #expect(report.sampledBoundaries.map(\.index) == [1, 1], "index 0's commits need a snapshot before them")
    }

    @Test("seal: an index that lost its last segment is named where the segment should be, twice confirmed")
    func lostLastSegment() async throws {
        let (client, cut) = replica(dropping: true)
        let report = try await verify(client)
        #expect(report.problems.map(\.kind) == [.indexIncomplete])
        #expect(
            report.problems.first?.object
                == "generations/\(generation)/wal/0000000000000000/\(Hex.format(cut, width: 16)).wal.lz4")
    }

    @Test("corrupt: an object that is not LZ4 is a corrupt-object problem naming it; the rest is still checked")
    func corrupt() async throws {
        let (client, _) = replica()
        let position = Position(generation: generation, index: 1, offset: 0)
        client.addSegment(position, raw: [], compressed: Array("not lz4 at all".utf8))
        let report = try await verify(client)
        #expect(report.problems.map(\.kind) == [.corruptObject])
        #expect(
            report.problems.first?.object == "generations/\(generation)/wal/0000000000000001/0000000000000000.wal.lz4")
    }

    @Test("progress: bytes read count each stored byte once, spooled by the client or read, through retries")
    func progressCountsOnce() async throws {
        let (client, _) = replica()
        client.spoolOpens(failedTransfers: 2)
        client.setBehaviour(.failMidRead(count: 1), at: Position(generation: generation, index: 1, offset: 0))
        var verifier = ReplicaVerifier(client: client, environment: testEnvironment(fileSystem: MemoryFileSystem()))
        verifier.retryDelay = .milliseconds(1)
        let meter = ProgressMeter.verify()
        verifier.progress = meter
        let report = try await verifier.verify()
        #expect(report.problems.isEmpty, "\(report.findings)")
        let segments = try await client.walSegments(in: generation).reduce(Int64(0)) { $0 + $1.size }
        let snapshot = Int64(compressFrame(snapshot).count)
        let reading = meter.reading(label: "verify", elapsed: .seconds(1)).quantities
        #expect(reading[ProgressMeter.verifyRead].done == segments + snapshot)
        #expect(reading[ProgressMeter.verifyChecked].done == 4)
    }

    @Test("transient: reads that fail and then pass are retried, not reported")
    func transient() async throws {
        let (client, _) = replica()
        client.setBehaviour(.failOpens(count: 2), at: Position(generation: generation, index: 0, offset: 0))
        var verifier = ReplicaVerifier(client: client, environment: testEnvironment(fileSystem: MemoryFileSystem()))
        verifier.retryDelay = .milliseconds(1)
        let report = try await verifier.verify()
        #expect(report.problems.isEmpty, "\(report.findings)")
        // One that keeps failing means the check could not be made: an error, not a problem.
        let (failing, _) = replica()
        failing.setBehaviour(.failOpens(count: 5), at: Position(generation: generation, index: 0, offset: 0))
        var stuck = ReplicaVerifier(client: failing, environment: testEnvironment(fileSystem: MemoryFileSystem()))
        stuck.retryDelay = .milliseconds(1)
        await #expect(throws: VerifyError.self) { _ = try await stuck.verify() }
    }
}
