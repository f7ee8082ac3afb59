import Synchronization
import Testing

@testable import Core

/// A replica holding one generation whose WAL indexes are each a few transactions, uploaded as
/// one segment per transaction (the first also carrying the WAL header).
private struct Fixture {
    let client = MemoryReplicaClient()
    let fileSystem = MemoryFileSystem()
    let generation = Generation(value: 0x0190_0000_0000_0001)
    let paths = RestorePaths(output: "/out/db")
    /// Raw WAL bytes per index.
    var wals: [UInt64: [UInt8]] = [:]
    /// Segment offsets per index.
    var offsets: [UInt64: [UInt64]] = [:]

    init(indexes: Int, transactionsPerIndex: Int = 3) {
        client.addSnapshot(generation, index: 0, raw: [])
        for index in 0..<UInt64(indexes) {
            var wal = WALBuilder(salt1: UInt32(index + 1))
            var segmentStart = 0
            var indexOffsets: [UInt64] = []
            for transaction in 0..<transactionsPerIndex {
                wal.transaction(pages: 2, fill: UInt8(truncatingIfNeeded: Int(index) * 16 + transaction))
                let position = Position(generation: generation, index: index, offset: UInt64(segmentStart))
                client.addSegment(position, raw: Array(wal.bytes[segmentStart...]))
                indexOffsets.append(UInt64(segmentStart))
                segmentStart = wal.bytes.count
            }
            wals[index] = wal.bytes
            offsets[index] = indexOffsets
        }
    }

    func position(_ index: UInt64, _ segment: Int) -> Position {
        Position(generation: generation, index: index, offset: offsets[index]![segment])
    }

    func plan(_ target: RestoreTarget = .latest) async throws -> [IndexPlan] {
        let listing = try await ReplicaListing.load(from: client)
        return try RestorePlanner.plan(
            RestoreRequest(outputPath: paths.output, generation: generation, target: target), listing: listing
        ).indexes
    }

    /// Downloads `plan`, reading and removing each file as it is handed over. Every index goes
    /// through its temp file unless `memoryLimit` says otherwise.
    func download(
        _ plan: [IndexPlan], parallelism: Int, memoryLimit: Int = 0,
        onEach: (DownloadedIndex) async throws -> Void = { _ in }
    ) async throws -> [Received] {
        try await WALDownloader.withDownloads(
            of: plan, generation: generation, client: client, environment: testEnvironment(fileSystem: fileSystem),
            paths: paths, parallelism: parallelism, memoryLimit: memoryLimit
        ) { downloader in
            var received: [Received] = []
            while let downloaded = try await downloader.next() {
                try await onEach(downloaded)
                received.append(
                    Received(
                        downloaded: downloaded, bytes: downloaded.bytes ?? fileSystem.contents(downloaded.path) ?? []))
                try await fileSystem.remove(downloaded.path)
            }
            #expect(try await downloader.next() == nil)
            return received
        }
    }
}

private struct Received: Sendable {
    var downloaded: DownloadedIndex
    var bytes: [UInt8]
}

@Suite("WALDownloader")
struct WALDownloaderTests {
    @Test("ordering: indexes arrive in order with their exact WAL bytes even when an early one is slow")
    func ordering() async throws {
        let fixture = Fixture(indexes: 6)
        fixture.client.setBehaviour(.slow(.milliseconds(20)), at: fixture.position(0, 1))
        let received = try await fixture.download(try await fixture.plan(), parallelism: 3)
        #expect(received.map(\.downloaded.index) == [0, 1, 2, 3, 4, 5])
        for item in received {
            #expect(item.bytes == fixture.wals[item.downloaded.index])
            #expect(item.downloaded.byteCount == UInt64(fixture.wals[item.downloaded.index]!.count))
            #expect(item.downloaded.frameCount == 6)
            #expect(item.downloaded.path == fixture.paths.downloadedWAL(index: item.downloaded.index))
        }
        #expect(fixture.fileSystem.paths.isEmpty)
    }

    @Test(
        "concurrency: at most `parallelism` streams open, one per index, and at most `parallelism` files ahead of the consumer"
    )
    func boundedConcurrency() async throws {
        let fixture = Fixture(indexes: 10, transactionsPerIndex: 4)
        for index in 0..<UInt64(10) {
            for segment in 0..<4 {
                fixture.client.setBehaviour(.slow(.milliseconds(2)), at: fixture.position(index, segment))
            }
        }
        let maxAhead = MaxCounter()
        let received = try await fixture.download(try await fixture.plan(), parallelism: 3) { _ in
            // The consumer is slow; downloads must not run away from it.
            try await Task.sleep(for: .milliseconds(15))
            maxAhead.record(fixture.fileSystem.paths.count)
        }
        #expect(received.count == 10)
        #expect(fixture.client.maxOpenStreams <= 3)
        #expect(fixture.client.maxOpenStreams >= 2) // it did run in parallel
        #expect(fixture.client.maxOpenStreamsPerIndex == 1) // segments of one index are sequential
        #expect(maxAhead.value <= 3 + 1) // the window, plus the file the consumer holds
    }

    // Index 3 never finishes on its own: if the downloader waited for it, the time limit fails
    // the test. No wall-clock assertion, which a loaded CI machine would break.
    @Test(
        "errors: a failed index is reported when reached, after the earlier ones, without waiting for later ones",
        .timeLimit(.minutes(1)))
    func errorInOrder() async throws {
        let fixture = Fixture(indexes: 5)
        // Index 2 loses its middle segment from the store after planning.
        let plan = try await fixture.plan()
        fixture.client.state.withLock { _ = $0.segments.removeValue(forKey: fixture.position(2, 1)) }
        fixture.client.setBehaviour(.slow(.seconds(86_400)), at: fixture.position(3, 0))

        var delivered: [UInt64] = []
        await #expect(
            throws: ReplicaClientError.notFound(replica: "memory://replica", key: "\(fixture.position(2, 1))")
        ) {
            _ = try await fixture.download(plan, parallelism: 4) { delivered.append($0.index) }
        }
        #expect(delivered == [0, 1])
        #expect(fixture.client.maxOpenStreams >= 1)
        #expect(fixture.client.openStreams == 0, "a stream was left open")
        #expect(fixture.fileSystem.paths.isEmpty)
    }

    @Test("gap: a segment that does not start where the bytes so far end is a gap naming both offsets")
    func gap() async throws {
        let fixture = Fixture(indexes: 1, transactionsPerIndex: 1)
        var wal = WALBuilder(salt1: 1)
        wal.transaction(pages: 2, fill: 0)
        let end = UInt64(wal.bytes.count)
        // A segment claiming to start one frame later than the first one ends.
        var more = WALBuilder(salt1: 1)
        more.transaction(pages: 1, fill: 9)
        fixture.client.addSegment(
            Position(generation: fixture.generation, index: 0, offset: end + 536), raw: Array(more.bytes[32...]))
        await #expect(
            throws: RestoreError.walGap(
                generation: fixture.generation, index: 0, expectedOffset: end, foundOffset: end + 536)
        ) {
            _ = try await fixture.download(try await fixture.plan(), parallelism: 2)
        }
        #expect(fixture.fileSystem.paths.isEmpty)
    }

    @Test(
        "seal: an index shorter than the next index's seal says is refused before the next is handed over; one that matches passes"
    )
    func sealedEnd() async throws {
        let fixture = Fixture(indexes: 3)
        let sealed = { (index: UInt64, end: UInt64) in
            let position = fixture.position(index, 0)
            fixture.client.addSegment(
                position, raw: [],
                compressed: WALIndexSeal(previousIndex: index - 1, previousEnd: end).frame.bytes
                    + compressFrame(fixture.wals[index]!))
            fixture.client.state.withLock { state in
                for segment in 1..<fixture.offsets[index]!.count {
                    _ = state.segments.removeValue(forKey: fixture.position(index, segment))
                }
            }
        }
        sealed(1, UInt64(fixture.wals[0]!.count))
        sealed(2, UInt64(fixture.wals[1]!.count))
        let whole = try await fixture.download(try await fixture.plan(), parallelism: 2)
        #expect(whole.map(\.downloaded.index) == [0, 1, 2])
        #expect(whole[2].downloaded.seal == WALIndexSeal(previousIndex: 1, previousEnd: UInt64(fixture.wals[1]!.count)))

        // Index 0 loses its last segment: it still ends on a commit, only index 1's seal tells.
        let last = fixture.position(0, 2)
        fixture.client.state.withLock { _ = $0.segments.removeValue(forKey: last) }
        var delivered: [UInt64] = []
        await #expect(
            throws: RestoreError.walIndexIncomplete(
                generation: fixture.generation, index: 0, listedEnd: last.offset,
                sealedEnd: UInt64(fixture.wals[0]!.count))
        ) {
            _ = try await fixture.download(try await fixture.plan(), parallelism: 2) { delivered.append($0.index) }
        }
        #expect(delivered == [0])
        #expect(fixture.fileSystem.paths.isEmpty)
    }

    @Test("seal: a leading skippable frame that is not a valid seal for its segment is a corrupt object")
    func foreignSkippableFrame() async throws {
        let fixture = Fixture(indexes: 2)
        let position = fixture.position(1, 1)
        let foreign = LZ4SkippableFrame(kind: 0x3, payload: Array(repeating: 7, count: 32)).bytes
        fixture.client.addSegment(
            position, raw: [], compressed: foreign + compressFrame(Array(fixture.wals[1]![Int(position.offset)...])))
        do {
            _ = try await fixture.download(try await fixture.plan(), parallelism: 2)
            Issue.record("a segment with a foreign skippable frame was accepted")
        } catch RestoreError.corruptObject(let object, let reason) {
            #expect(object.contains("\(position)"))
            #expect(reason.contains("skippable frame"))
        }
    }

    @Test("corrupt lz4: a clear error naming the segment, not retried")
    func corruptObject() async throws {
        let fixture = Fixture(indexes: 2)
        let position = fixture.position(1, 1)
        var compressed = compressFrame(Array(fixture.wals[1]![Int(position.offset)...]))
        compressed[compressed.count / 2] ^= 0xFF
        compressed[compressed.count / 2 + 1] ^= 0xFF
        fixture.client.addSegment(position, raw: [], compressed: compressed)
        do {
            _ = try await fixture.download(try await fixture.plan(), parallelism: 2)
            Issue.record("a corrupt segment was accepted")
        } catch let error as RestoreError {
            guard case .corruptObject(let object, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(object.contains("\(position)"))
            #expect(error.description.contains("corrupt"))
        }
        #expect(fixture.client.opens(of: position) == 1)
    }

    @Test("retry: transient open and mid-stream failures restart the segment and succeed")
    func transientRetry() async throws {
        let fixture = Fixture(indexes: 2)
        fixture.client.setBehaviour(.failOpens(count: 1), at: fixture.position(0, 1))
        fixture.client.setBehaviour(.failMidRead(count: 2), at: fixture.position(1, 0))
        let received = try await fixture.download(try await fixture.plan(), parallelism: 2)
        #expect(received.map(\.bytes) == [fixture.wals[0]!, fixture.wals[1]!])
        #expect(fixture.client.opens(of: fixture.position(0, 1)) == 2)
        #expect(fixture.client.opens(of: fixture.position(1, 0)) == 3)
    }

    @Test(
        "progress: each compressed byte counts once, whether a spooling client or the reader moved it, through retries"
    )
    func progressCountsOnce() async throws {
        let fixture = Fixture(indexes: 2)
        fixture.client.spoolOpens(failedTransfers: 1)
        fixture.client.setBehaviour(.failMidRead(count: 2), at: fixture.position(1, 0))
        let meter = ProgressMeter.restore()
        _ = try await WALDownloader.withDownloads(
            of: try await fixture.plan(), generation: fixture.generation, client: fixture.client,
            environment: testEnvironment(fileSystem: fixture.fileSystem), paths: fixture.paths, parallelism: 2,
            progress: meter
        ) { downloader in
            while let downloaded = try await downloader.next() { try await fixture.fileSystem.remove(downloaded.path) }
        }
        let stored = try await fixture.client.walSegments(in: fixture.generation).reduce(Int64(0)) { $0 + $1.size }
        let counted = meter.reading(label: "restore", elapsed: .seconds(1)).quantities[ProgressMeter.downloaded].done
        #expect(counted == stored)
    }

    @Test("retry: a failure that persists becomes downloadFailed after the attempts run out")
    func persistentFailure() async throws {
        let fixture = Fixture(indexes: 1)
        let position = fixture.position(0, 2)
        fixture.client.setBehaviour(.failOpens(count: 100), at: position)
        await #expect(
            throws: RestoreError.downloadFailed(
                object: "memory://replica: WAL segment \(position)", attempts: 3,
                reason: "memory://replica: connection reset")
        ) {
            _ = try await fixture.download(try await fixture.plan(), parallelism: 1)
        }
        #expect(fixture.client.opens(of: position) == 3)
    }

    @Test("invalid WAL: a frame with a broken checksum is refused with its offset")
    func invalidFrame() async throws {
        let fixture = Fixture(indexes: 1, transactionsPerIndex: 2)
        let position = fixture.position(0, 1)
        var raw = Array(fixture.wals[0]![Int(position.offset)...])
        raw[100] ^= 0x01 // inside the first page of the second transaction
        fixture.client.addSegment(position, raw: raw)
        await #expect(
            throws: RestoreError.invalidWAL(
                generation: fixture.generation, index: 0, offset: position.offset,
                reason: "frame 3 fails its checksum in WAL segment \(position)")
        ) {
            _ = try await fixture.download(try await fixture.plan(), parallelism: 1)
        }
    }

    @Test("position: the index is cut at a commit boundary inside a segment")
    func positionInsideSegment() async throws {
        // Index 0 is whole (positions inside the snapshot's own index are refused by the
        // planner); index 1 is one segment holding three transactions of two frames each.
        let fixture = Fixture(indexes: 1, transactionsPerIndex: 1)
        var wal = WALBuilder(salt1: 2)
        for fill in 0..<3 { wal.transaction(pages: 2, fill: UInt8(fill)) }
        fixture.client.addSegment(Position(generation: fixture.generation, index: 1, offset: 0), raw: wal.bytes)
        let boundary = UInt64(32 + 4 * wal.frameSize)

        let received = try await fixture.download(
            try await fixture.plan(.position(index: 1, offset: boundary)), parallelism: 1)
        #expect(received.map(\.bytes) == [fixture.wals[0]!, Array(wal.bytes.prefix(Int(boundary)))])
        #expect(received.last?.downloaded.frameCount == 4)

        let midTransaction = UInt64(32 + 3 * wal.frameSize)
        await #expect(
            throws: RestoreError.notACommitBoundary(
                Position(generation: fixture.generation, index: 1, offset: midTransaction))
        ) {
            _ = try await fixture.download(
                try await fixture.plan(.position(index: 1, offset: midTransaction)), parallelism: 1)
        }
        let beyond = UInt64(wal.bytes.count + wal.frameSize)
        await #expect(
            throws: RestoreError.positionNotReplicated(
                Position(generation: fixture.generation, index: 1, offset: beyond),
                replicatedEnd: UInt64(wal.bytes.count))
        ) {
            _ = try await fixture.download(try await fixture.plan(.position(index: 1, offset: beyond)), parallelism: 1)
        }
        #expect(fixture.fileSystem.paths.isEmpty)
    }

    @Test(
        "memory: an index up to the limit is handed over in memory with no file; a longer one spills to its file",
        arguments: [0, -1])
    func inMemory(belowSize: Int) async throws {
        let fixture = Fixture(indexes: 4)
        let limit = fixture.wals[0]!.count + belowSize
        var filesSeen: [UInt64: Bool] = [:]
        let received = try await fixture.download(try await fixture.plan(), parallelism: 2, memoryLimit: limit) {
            downloaded in
            filesSeen[downloaded.index] = fixture.fileSystem.contents(downloaded.path) != nil
        }
        #expect(received.count == 4)
        for item in received {
            #expect(item.bytes == fixture.wals[item.downloaded.index])
            let fits = fixture.wals[item.downloaded.index]!.count <= limit
            #expect((item.downloaded.bytes != nil) == fits)
            #expect(filesSeen[item.downloaded.index] == !fits)
        }
        #expect(fixture.fileSystem.paths.isEmpty)
    }

    @Test("early exit: a consumer that stops early leaves no temp files")
    func earlyExit() async throws {
        let fixture = Fixture(indexes: 6)
        let first = try await WALDownloader.withDownloads(
            of: try await fixture.plan(), generation: fixture.generation, client: fixture.client,
            environment: testEnvironment(fileSystem: fixture.fileSystem), paths: fixture.paths, parallelism: 3
        ) { downloader in try await downloader.next()?.index }
        #expect(first == 0)
        #expect(fixture.fileSystem.paths.isEmpty)
    }
}

/// The largest value recorded, from any task.
private final class MaxCounter: Sendable {
    private let storage = Mutex(0)
    func record(_ value: Int) { storage.withLock { $0 = max($0, value) } }
    var value: Int { storage.withLock { $0 } }
}
